package testcluster

import (
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
)

// TestPartitionThenHealConverges: both sides of a partition change the pinset, including the
// same CIDs; after Heal every peer holds the same pinset, where the later change of each CID
// wins (last writer wins on the hybrid logical clock).
func TestPartitionThenHealConverges(t *testing.T) {
	c := New(t, 3)
	ctx := context.Background()
	a, b, cc, d, e := Cid("part-a"), Cid("part-b"), Cid("part-c"), Cid("part-d"), Cid("part-e")
	for _, x := range []api.Cid{a, b, cc} {
		if _, err := c.Peer(0).Pin(ctx, x, api.PinOptions{Name: "before"}); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitFor(func() bool { return c.Converged() && c.CountPins(2) == 3 }, 10*time.Second, "initial pins everywhere")

	c.Partition(2)
	c.WaitFor(func() bool { return len(c.Probe(2).Host().Network().Peers()) == 0 }, 5*time.Second, "peer 2 isolated")
	must := func(_ api.Pin, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Side {0, 1} first...
	must(c.Peer(0).Unpin(ctx, a))
	must(c.Peer(1).Pin(ctx, b, api.PinOptions{Name: "side-01"}))
	must(c.Peer(0).Pin(ctx, d, api.PinOptions{Name: "side-01"}))
	c.WaitFor(func() bool { return !c.HasPin(1, a) && c.HasPin(0, b) && c.HasPin(1, d) }, 10*time.Second, "side {0,1} agrees")
	// ...then side {2}, later on the clock: its change of a wins over the unpin.
	t0 := time.Now()
	c.WaitFor(func() bool { return time.Since(t0) > 5*time.Millisecond }, time.Second, "the clock moves on")
	must(c.Peer(2).Pin(ctx, a, api.PinOptions{Name: "side-2"}))
	must(c.Peer(2).Unpin(ctx, cc))
	must(c.Peer(2).Pin(ctx, e, api.PinOptions{Name: "side-2"}))
	c.Consistently(func() bool { return !c.HasPin(0, e) && c.HasPin(2, b) }, time.Second, "nothing crosses the partition")

	c.Heal()
	c.WaitFor(c.Converged, 20*time.Second, "pinsets converge after Heal")
	for i := 0; i < 3; i++ {
		if pin, ok := c.GetPin(i, a); !ok || pin.Name != "side-2" {
			t.Errorf("peer %d: a = %+v (present %v), want the later pin named side-2", i, pin.Name, ok)
		}
		if pin, ok := c.GetPin(i, b); !ok || pin.Name != "side-01" {
			t.Errorf("peer %d: b = %q (present %v), want side-01", i, pin.Name, ok)
		}
		if c.HasPin(i, cc) {
			t.Errorf("peer %d: c unpinned on side 2 is back", i)
		}
		if !c.HasPin(i, d) || !c.HasPin(i, e) {
			t.Errorf("peer %d: lacks d or e", i)
		}
	}
}

// TestLatePeerCatchesUp: a peer started after 10,000 pins were made loads them all.
func TestLatePeerCatchesUp(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 pins: skipped with -short")
	}
	// A state sync scans the whole pinset: keep it out of the way of the measurement.
	c := New(t, 3, WithStarted(2), WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Cluster.StateSyncInterval = config.Duration(time.Minute)
	}))
	total := lateTotal
	const workers = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := next.Add(1) - 1
				if k >= int64(total) {
					return
				}
				if _, err := c.Peer(int(k%2)).Pin(context.Background(), Cid("late-"+itoa(int(k))), api.PinOptions{}); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	t.Logf("%d pins on peers 0 and 1 in %s", total, time.Since(start))
	c.WaitFor(func() bool { return c.CountPins(0) == total && c.CountPins(1) == total }, 60*time.Second, "10k pins on peers 0 and 1")
	start = time.Now()
	c.Start(2)
	c.WaitFor(func() bool { return c.CountPins(2) == total }, 60*time.Second, "peer 2 catches up to %d pins (has %d)", total, c.CountPins(2))
	t.Logf("late peer caught up in %s", time.Since(start))
	c.WaitFor(c.Converged, 30*time.Second, "identical pinsets")
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

var lateTotal = func() int {
	if n, err := strconv.Atoi(os.Getenv("TESTCLUSTER_LATE_PINS")); err == nil {
		return n
	}
	return 10000
}()
