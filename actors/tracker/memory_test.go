package tracker

import (
	"context"
	"fmt"
	"os"
	"runtime"
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

// forgetfulBackend pins at once and remembers nothing, so the test's own backend does not
// grow with the pins.
type forgetfulBackend struct{ *fake.Backend }

func (forgetfulBackend) Pin(context.Context, api.Cid, api.PinMode, ipfs.PinProgress) error {
	return nil
}

// heapBound is what the tracker, its window of 10,000 and Badger (memtables and caches) may
// hold after a GC, whatever the number of queued pins.
const heapBound = 200 << 20

// TestMillionQueuedPinsPageThroughTheWindow queues a million pins far faster than they are
// pinned, so the queue grows to hundreds of thousands while they page through the default
// window; the heap stays under heapBound and the window under queue_window throughout.
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
	tr, err := New(quietSystem(), cfg, forgetfulBackend{fake.New()}, q, selfID, "peer0", discard())
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
	if !poll.Until(10*time.Minute, 50*time.Millisecond, func() bool {
		if tr.QueueLen()%100_000 < 2_000 {
			check(fmt.Sprintf("%d queued", tr.QueueLen()))
		}
		return tr.QueueLen() == 0
	}) {
		t.Fatalf("%d still queued", tr.QueueLen())
	}
	check("drained")
	t.Logf("1M pins: queued in %s (queue peaked at %d), drained in %s; peak heap in use %d MB; RSS %s",
		queued.Round(time.Second), maxQueue, time.Since(start).Round(time.Second), peakHeap>>20, rss())
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
