package tracker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/persistence"
)

// gateBackend stalls every pin (unfetchable content) until open is closed, then pins at once;
// it remembers nothing, so the test's own backend does not grow with the pins.
type gateBackend struct {
	*fake.Backend
	open chan struct{}
}

func (g gateBackend) Pin(ctx context.Context, _ api.Cid, _ api.PinMode, _ ipfs.PinProgress) error {
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// heapBound is what the tracker, its window of 100,000 and Badger may hold after a GC, whatever
// the number of queued pins. Badger's share dominates: memtables, caches and, while it
// compacts, table-builder buffers (measured: 40-230 MB in use along the run with a window of
// 10,000 and 8 MiB memtables, 170-273 MB with 100,000 and 16 MiB, peaking during compactions,
// not growing with the queue).
const heapBound = 300 << 20

// TestMillionQueuedPinsPageThroughTheWindow queues a million unfetchable pins (every pin call
// stalls), then lets them through: the queue holds a million while the default window holds
// 100,000, and all of them page through it. The heap stays under heapBound and the window
// under queue_window throughout.
// Skipped with -short and under the race detector (minutes there); run it with
// `go test -run MillionQueued ./actors/tracker/`.
func TestMillionQueuedPinsPageThroughTheWindow(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a million pins: run without -short and without -race")
	}
	q, err := persistence.Open(persistence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	cfg := DefaultConfig()
	cfg.PinTimeout = time.Hour
	gate := gateBackend{Backend: fake.New(), open: make(chan struct{})}
	tr, err := New(quietSystem().Root, cfg, gate, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	const n, batch = 1_000_000, 10_000
	var peakHeap uint64
	maxQueue := 0
	check := func(when string) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
		t.Logf("%s: heap in use %d MB, queue %d", when, ms.HeapInuse>>20, tr.QueueLen())
		if ms.HeapInuse > heapBound*3/4 {
			if dir := os.Getenv("TRACKER_HEAP_PROFILE_DIR"); dir != "" {
				if f, err := os.Create(filepath.Join(dir, "heap.pprof")); err == nil {
					pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
		}
		if ms.HeapInuse > heapBound {
			t.Fatalf("%s: heap in use %d MB, bound %d MB", when, ms.HeapInuse>>20, heapBound>>20)
		}
		if h, _ := window(t, tr); h > cfg.QueueWindow {
			t.Fatalf("%s: window holds %d, bound %d", when, h, cfg.QueueWindow)
		}
		maxQueue = max(maxQueue, tr.QueueLen())
	}
	start := time.Now()
	pins := make([]api.Pin, batch)
	for i := 0; i < n; i += batch {
		for j := range pins {
			pins[j] = testPin(t, fmt.Sprint("m", i+j))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := tr.TrackMany(ctx, pins)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if (i+batch)%100_000 == 0 {
			check(fmt.Sprintf("%d tracked", i+batch))
		}
	}
	queued := time.Since(start)
	maxQueue = tr.QueueLen()
	if maxQueue != n {
		t.Fatalf("%d queued, want %d", maxQueue, n)
	}
	check("1M queued")
	close(gate.open)
	if !poll.Until(10*time.Minute, 50*time.Millisecond, func() bool {
		if tr.QueueLen()%100_000 < 2_000 {
			check(fmt.Sprintf("%d queued", tr.QueueLen()))
		}
		return tr.QueueLen() == 0
	}) {
		t.Fatalf("%d still queued", tr.QueueLen())
	}
	check("drained")
	t.Logf("1M unfetchable pins: queued in %s (queue peaked at %d), then all pinned in %s; peak heap in use %d MB; RSS at the end %s",
		queued.Round(time.Second), maxQueue, (time.Since(start) - queued).Round(time.Second), peakHeap>>20, rss())
}

// rss is the process's resident set (Linux), for the log.
func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return fmt.Sprintf("%d MB", kb>>10)
		}
	}
	return "?"
}
