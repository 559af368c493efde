package tracker

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs/fake"
)

func TestPinLifecycle(t *testing.T) {
	tr, b := newTestTracker(t, testConfig())
	pin := testPin(t, "a")
	b.StallPin(pin.Cid)
	if err := tr.Track(ctx5s(t), pin); err != nil {
		t.Fatal(err)
	}
	pi := waitStatus(t, tr, pin, api.TrackerStatusPinning)
	if !pi.PriorityPin || pi.PeerName != "peer0" || pi.Peer != selfID || pi.Name != "a" || pi.IPFS == "" || !pi.Created.Equal(pin.Timestamp) {
		t.Fatalf("pinning info: %+v", pi)
	}
	if tr.QueueLen() != 1 {
		t.Fatalf("queue len %d", tr.QueueLen())
	}
	b.Release(pin.Cid)
	waitStatus(t, tr, pin, api.TrackerStatusPinned)
	waitFor(t, "empty queue", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	// Idempotent: tracking a pinned pin pins again at once.
	if err := tr.Track(ctx5s(t), pin); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, tr, pin, api.TrackerStatusPinned)
}

func TestRemoteAndUnpinned(t *testing.T) {
	tr, _ := newTestTracker(t, testConfig())
	pin := testPin(t, "remote")
	pin.Allocations = []peer.ID{"other"}
	if s := status(t, tr, pin).Status; s != api.TrackerStatusRemote {
		t.Fatalf("got %s", s)
	}
	pi, err := tr.StatusUnknown(ctx5s(t), pin.Cid)
	if err != nil || pi.Status != api.TrackerStatusUnpinned {
		t.Fatalf("unknown: %v %v", pi.Status, err)
	}
}

func TestConcurrentPinsRespected(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins = 3
	tr, b := newTestTracker(t, cfg)
	var pins []api.Pin
	for i := 0; i < 5; i++ {
		p := testPin(t, fmt.Sprintf("c%d", i))
		b.StallPin(p.Cid)
		pins = append(pins, p)
		if err := tr.Track(ctx5s(t), p); err != nil {
			t.Fatal(err)
		}
	}
	count := func() (int, int) {
		pinning, queued := 0, 0
		for _, p := range pins {
			switch status(t, tr, p).Status {
			case api.TrackerStatusPinning:
				pinning++
			case api.TrackerStatusPinQueued:
				queued++
			}
		}
		return pinning, queued
	}
	waitFor(t, "3 pinning, 2 queued", func() (bool, string) {
		p, q := count()
		return p == 3 && q == 2, fmt.Sprintf("pinning=%d queued=%d", p, q)
	})
	if tr.QueueLen() != 5 {
		t.Fatalf("queue len %d", tr.QueueLen())
	}
	// FIFO: the first three run.
	for i := 0; i < 3; i++ {
		if s := status(t, tr, pins[i]).Status; s != api.TrackerStatusPinning {
			t.Fatalf("pin %d: %s", i, s)
		}
	}
	b.Release(pins[0].Cid)
	waitStatus(t, tr, pins[3], api.TrackerStatusPinning)
	p, q := count()
	if p != 3 || q != 1 {
		t.Fatalf("after release: pinning=%d queued=%d", p, q)
	}
	seen := 0
	if err := tr.InFlight(ctx5s(t), func(c api.Cid, s api.PinInfoShort) error { seen++; return nil }); err != nil {
		t.Fatal(err)
	}
	if seen != 4 {
		t.Fatalf("in flight: %d", seen)
	}
	b.ClearFaults()
	for _, p := range pins {
		waitStatus(t, tr, p, api.TrackerStatusPinned)
	}
}

func TestPriorityServedFirst(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins = 1
	cfg.PriorityPinMaxAge = time.Hour
	tr, b := newTestTracker(t, cfg)
	blocker := testPin(t, "blocker")
	b.StallPin(blocker.Cid)
	tr.Track(ctx5s(t), blocker)
	waitStatus(t, tr, blocker, api.TrackerStatusPinning)

	old := testPin(t, "old")
	old.Timestamp = time.Now().Add(-2 * time.Hour)
	fresh := testPin(t, "fresh")
	b.StallPin(old.Cid)
	b.StallPin(fresh.Cid)
	tr.Track(ctx5s(t), old) // queued first, but in the normal queue
	tr.Track(ctx5s(t), fresh)
	waitStatus(t, tr, old, api.TrackerStatusPinQueued)
	// Both in the window (a Track answers once the pin is durable; the window pages it in
	// after): else the slot may go to old before fresh is paged in.
	waitFor(t, "old and fresh in the window", func() (bool, string) {
		h, _ := window(t, tr)
		return h == 3, fmt.Sprint(h)
	})
	b.Release(blocker.Cid)
	pi := waitStatus(t, tr, fresh, api.TrackerStatusPinning)
	if !pi.PriorityPin {
		t.Fatal("fresh pin should use the priority queue")
	}
	if s := status(t, tr, old).Status; s != api.TrackerStatusPinQueued {
		t.Fatalf("old pin: %s", s)
	}
	b.Release(fresh.Cid)
	pi = waitStatus(t, tr, old, api.TrackerStatusPinning)
	if pi.PriorityPin {
		t.Fatal("old pin should use the normal queue")
	}
	b.Release(old.Cid)
	waitStatus(t, tr, old, api.TrackerStatusPinned)
}

func TestRetriesKeepAttemptsThenSucceed(t *testing.T) {
	tr, b := newTestTracker(t, testConfig())
	pin := testPin(t, "flaky")
	b.FailPinTimes(pin.Cid, 2, errors.New("no providers"))
	tr.Track(ctx5s(t), pin)
	waitStatus(t, tr, pin, api.TrackerStatusPinned)
	if n := b.PinCalls(pin.Cid); n != 3 {
		t.Fatalf("pin calls %d, want 3", n)
	}
}

func TestPinErrorDowngradeRecover(t *testing.T) {
	cfg := testConfig()
	tr, b := newTestTracker(t, cfg)
	pin := testPin(t, "broken")
	b.FailPin(pin.Cid, errors.New("no providers"))
	tr.Track(ctx5s(t), pin)
	var pi api.PinInfo
	waitFor(t, "attempts exhausted", func() (bool, string) {
		pi = status(t, tr, pin)
		return pi.AttemptCount == cfg.PriorityPinMaxRetries, fmt.Sprintf("%s %d", pi.Status, pi.AttemptCount)
	})
	if pi.Status != api.TrackerStatusPinError || !strings.Contains(pi.Error, "no providers") {
		t.Fatalf("status %+v", pi)
	}
	waitFor(t, "slot freed", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	// No automatic retry after giving up.
	calls := b.PinCalls(pin.Cid)
	if calls != cfg.PriorityPinMaxRetries {
		t.Fatalf("pin calls %d", calls)
	}

	// RecoverAll: one more attempt, from the normal queue.
	n, err := tr.RecoverAll(ctx5s(t))
	if err != nil || n != 1 {
		t.Fatalf("recover all: %d %v", n, err)
	}
	waitFor(t, "recover-all attempt", func() (bool, string) {
		pi = status(t, tr, pin)
		return pi.AttemptCount == cfg.PriorityPinMaxRetries+1 && pi.Status == api.TrackerStatusPinError, fmt.Sprintf("%s %d", pi.Status, pi.AttemptCount)
	})
	if pi.PriorityPin {
		t.Fatal("after max retries the pin must use the normal queue")
	}

	// Recover waits for the attempt; still failing -> pin_error.
	pi, err = tr.Recover(ctx5s(t), pin)
	if err != nil || pi.Status != api.TrackerStatusPinError || pi.AttemptCount != cfg.PriorityPinMaxRetries+2 || !pi.PriorityPin {
		t.Fatalf("recover while broken: %+v %v", pi, err)
	}
	b.Heal(pin.Cid)
	pi, err = tr.Recover(ctx5s(t), pin)
	if err != nil || pi.Status != api.TrackerStatusPinned {
		t.Fatalf("recover: %+v %v", pi, err)
	}
	// Recover of a pinned pin returns at once.
	pi, err = tr.Recover(ctx5s(t), pin)
	if err != nil || pi.Status != api.TrackerStatusPinned {
		t.Fatalf("recover pinned: %+v %v", pi, err)
	}
}

func TestPanicInBackendIsAFailure(t *testing.T) {
	cfg := testConfig()
	pin := testPin(t, "panicky")
	pb := &panicBackend{Backend: fake.New()}
	tr2, err := New(quietSystem().Root, cfg, pb, testQueue(t), selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Stop()
	tr2.Track(ctx5s(t), pin)
	pi := waitStatus(t, tr2, pin, api.TrackerStatusPinError)
	waitFor(t, "exhausted", func() (bool, string) {
		pi = status(t, tr2, pin)
		return pi.AttemptCount == cfg.PriorityPinMaxRetries, fmt.Sprint(pi.AttemptCount)
	})
	if !strings.Contains(pi.Error, "panic") {
		t.Fatalf("error %q", pi.Error)
	}
}

func TestPinTimeoutFromLastBlock(t *testing.T) {
	cfg := testConfig()
	cfg.PinTimeout = 250 * time.Millisecond
	cfg.PriorityPinMaxRetries = 1
	tr, b := newTestTracker(t, cfg)
	slow := testPin(t, "slow")
	b.SlowPin(slow.Cid, 30, 20*time.Millisecond) // 600ms in total, a block every 20ms
	stalled := testPin(t, "stalled")
	b.StallPin(stalled.Cid)
	tr.Track(ctx5s(t), slow)
	tr.Track(ctx5s(t), stalled)
	pi := waitStatus(t, tr, stalled, api.TrackerStatusPinError)
	if pi.Error != "pin timed out: no block received for 250ms" {
		t.Fatalf("error %q", pi.Error)
	}
	waitStatus(t, tr, slow, api.TrackerStatusPinned)
}

func TestUntrackDuringPinningCancelsAndUnpins(t *testing.T) {
	tr, b := newTestTracker(t, testConfig())
	pin := testPin(t, "cancel")
	b.StallPin(pin.Cid)
	tr.Track(ctx5s(t), pin)
	waitStatus(t, tr, pin, api.TrackerStatusPinning)
	if err := tr.Untrack(ctx5s(t), pin.Cid); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "unpinned", func() (bool, string) {
		pi, err := tr.StatusUnknown(ctx5s(t), pin.Cid)
		if err != nil {
			t.Fatal(err)
		}
		return pi.Status == api.TrackerStatusUnpinned && b.UnpinCalls(pin.Cid) == 1, pi.Status.String()
	})
	if b.Pinned(pin.Cid) {
		t.Fatal("still pinned")
	}
	// Track again during a queued unpin turns it back into a pin.
	if err := tr.Track(ctx5s(t), pin); err != nil {
		t.Fatal(err)
	}
	b.Release(pin.Cid)
	waitStatus(t, tr, pin, api.TrackerStatusPinned)
}

func TestUnpinStatesAndError(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins = 1
	cfg.PriorityPinMaxRetries = 2
	tr, b := newTestTracker(t, cfg)
	blocker := testPin(t, "blocker")
	b.StallPin(blocker.Cid)
	tr.Track(ctx5s(t), blocker)
	waitStatus(t, tr, blocker, api.TrackerStatusPinning)

	pin := testPin(t, "u")
	pin.Allocations = []peer.ID{"other"} // re-allocated away: status shows the unpin in flight
	b.FailUnpin(pin.Cid, errors.New("repo locked"))
	tr.Untrack(ctx5s(t), pin.Cid)
	waitStatus(t, tr, pin, api.TrackerStatusUnpinQueued)
	pi, _ := tr.StatusUnknown(ctx5s(t), pin.Cid)
	if pi.Status != api.TrackerStatusUnpinQueued {
		t.Fatalf("unknown: %s", pi.Status)
	}
	b.Release(blocker.Cid)
	waitFor(t, "unpin_error exhausted", func() (bool, string) {
		pi = status(t, tr, pin)
		return pi.Status == api.TrackerStatusUnpinError && pi.AttemptCount == 2, fmt.Sprintf("%s %d", pi.Status, pi.AttemptCount)
	})
	if !strings.Contains(pi.Error, "repo locked") {
		t.Fatalf("error %q", pi.Error)
	}
	b.Heal(pin.Cid)
	pi, err := tr.Recover(ctx5s(t), pin)
	if err != nil || pi.Status != api.TrackerStatusUnpinned {
		t.Fatalf("recover unpin: %+v %v", pi, err)
	}
}

func TestUnpinningState(t *testing.T) {
	pin := testPin(t, "unpinning")
	sb := &stallUnpinBackend{Backend: fake.New(), release: make(chan struct{})}
	tr2, err := New(quietSystem().Root, testConfig(), sb, testQueue(t), selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Stop()
	tr2.Untrack(ctx5s(t), pin.Cid)
	waitFor(t, "unpinning", func() (bool, string) {
		pi, _ := tr2.StatusUnknown(ctx5s(t), pin.Cid)
		return pi.Status == api.TrackerStatusUnpinning, pi.Status.String()
	})
	close(sb.release)
	waitFor(t, "unpinned", func() (bool, string) {
		pi, _ := tr2.StatusUnknown(ctx5s(t), pin.Cid)
		return pi.Status == api.TrackerStatusUnpinned, pi.Status.String()
	})
}

func TestQueueFull(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins = 1
	cfg.MaxPinQueueSize = 2
	tr, b := newTestTracker(t, cfg)
	for i := 0; i < 2; i++ {
		p := testPin(t, fmt.Sprintf("q%d", i))
		b.StallPin(p.Cid)
		if err := tr.Track(ctx5s(t), p); err != nil {
			t.Fatal(err)
		}
	}
	err := tr.Track(ctx5s(t), testPin(t, "q2"))
	if !errors.Is(err, api.ErrUnavailable) || !errors.Is(err, ErrQueueFull) || !strings.Contains(err.Error(), "pin_tracker.max_pin_queue_size=2") {
		t.Fatalf("got %v", err)
	}
	// The peer's up-front check (Full) refuses in the same words.
	waitFor(t, "Full refuses", func() (bool, string) {
		ferr := tr.Full()
		return ferr != nil && ferr.Error() == err.Error(), fmt.Sprint(ferr)
	})
	// Tracking one already queued is idempotent, not an error.
	if err := tr.Track(ctx5s(t), testPin(t, "q0")); err != nil {
		t.Fatal(err)
	}
}

func TestUnexpectedlyUnpinned(t *testing.T) {
	tr, b := newTestTracker(t, testConfig())
	pin := testPin(t, "manual-rm")
	tr.Track(ctx5s(t), pin)
	waitStatus(t, tr, pin, api.TrackerStatusPinned)
	b.RemovePin(pin.Cid)
	waitStatus(t, tr, pin, api.TrackerStatusUnexpectedlyUnpinned)
	pi, err := tr.Recover(ctx5s(t), pin)
	if err != nil || pi.Status != api.TrackerStatusPinned || !b.Pinned(pin.Cid) {
		t.Fatalf("recover: %+v %v", pi, err)
	}
}

func TestStopCancelsInFlightCalls(t *testing.T) {
	q := testQueue(t) // Badger's own goroutines live until the test ends
	before := runtime.NumGoroutine()
	sys := quietSystem()
	b := fake.New()
	cfg := testConfig()
	cfg.ConcurrentPins = 5
	tr, err := New(sys.Root, cfg, b, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ { // 5 running, 3 queued: none of those may start while stopping
		p := testPin(t, fmt.Sprintf("s%d", i))
		b.StallPin(p.Cid)
		tr.Track(ctx5s(t), p)
	}
	waitFor(t, "5 pinning", func() (bool, string) {
		n := 0
		tr.InFlight(ctx5s(t), func(_ api.Cid, s api.PinInfoShort) error {
			if s.Status == api.TrackerStatusPinning {
				n++
			}
			return nil
		})
		return n == 5, fmt.Sprint(n)
	})
	tr.Stop()
	if _, err := tr.Status(ctx5s(t), testPin(t, "s0")); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("after stop: %v", err)
	}
	for i := 5; i < 8; i++ {
		if n := b.PinCalls(testCid(t, fmt.Sprintf("s%d", i))); n != 0 {
			t.Fatalf("queued pin s%d started while stopping (%d calls)", i, n)
		}
	}
	sys.Shutdown()
	waitFor(t, "goroutines to return", func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= before+2, fmt.Sprintf("before=%d now=%d", before, n)
	})
}

func TestRequestHonoursContext(t *testing.T) {
	tr, _ := newTestTracker(t, testConfig())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Track(ctx, testPin(t, "x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestPinErrorBetweenAttempts(t *testing.T) {
	cfg := testConfig()
	cfg.RetryBackoffMin = 300 * time.Millisecond
	cfg.RetryBackoffMax = 300 * time.Millisecond
	tr, b := newTestTracker(t, cfg)
	pin := testPin(t, "between")
	b.FailPinTimes(pin.Cid, 1, errors.New("dial backoff"))
	tr.Track(ctx5s(t), pin)
	pi := waitStatus(t, tr, pin, api.TrackerStatusPinError)
	if pi.AttemptCount != 1 || !strings.Contains(pi.Error, "dial backoff") || !pi.PriorityPin {
		t.Fatalf("between attempts: %+v", pi.PinInfoShort)
	}
	if tr.QueueLen() != 1 {
		t.Fatalf("queue len %d: a retrying pin keeps its slot", tr.QueueLen())
	}
	waitStatus(t, tr, pin, api.TrackerStatusPinned)
	if b.PinCalls(pin.Cid) != 2 {
		t.Fatalf("pin calls %d", b.PinCalls(pin.Cid))
	}
}

func TestUntrackWhileRetryingAndTrackWhileUnpinQueued(t *testing.T) {
	cfg := testConfig()
	cfg.RetryBackoffMin = time.Hour // the restart never comes during the test
	cfg.RetryBackoffMax = time.Hour
	tr, b := newTestTracker(t, cfg)
	pin := testPin(t, "retrying")
	b.FailPin(pin.Cid, errors.New("nope"))
	tr.Track(ctx5s(t), pin)
	waitStatus(t, tr, pin, api.TrackerStatusPinError)
	tr.Untrack(ctx5s(t), pin.Cid)
	waitFor(t, "unpinned", func() (bool, string) {
		pi, _ := tr.StatusUnknown(ctx5s(t), pin.Cid)
		return pi.Status == api.TrackerStatusUnpinned && b.UnpinCalls(pin.Cid) == 1, pi.Status.String()
	})
	// Unpinned shows while its durable entry is being deleted; then the queue is empty.
	waitFor(t, "empty queue", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
}

// TestTrackMany queues a burst with one request; a full queue reports its error while the pins
// that fit are tracked.
func TestTrackMany(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPinQueueSize = 3
	tr, b := newTestTracker(t, cfg)
	var pins []api.Pin
	for _, n := range []string{"m1", "m2", "m3", "m4"} {
		p := testPin(t, n)
		b.StallPin(p.Cid)
		pins = append(pins, p)
	}
	err := tr.TrackMany(ctx5s(t), pins)
	if !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("TrackMany over the queue size: %v, want ErrUnavailable", err)
	}
	waitFor(t, "three tracked", func() (bool, string) { return tr.QueueLen() == 3, fmt.Sprint(tr.QueueLen()) })
	for _, p := range pins[:3] {
		b.Release(p.Cid)
		waitStatus(t, tr, p, api.TrackerStatusPinned)
	}
}

// TestRecoverUnpinBeyondTheWindowRetriesOnlyIt: recovering a failed unpin that left memory
// moves only its entry back to the queue; the other failed unpins wait for their own recover.
func TestRecoverUnpinBeyondTheWindowRetriesOnlyIt(t *testing.T) {
	cfg := testConfig()
	cfg.PriorityPinMaxRetries = 2
	tr, b := newTestTracker(t, cfg)
	x, y := testPin(t, "x"), testPin(t, "y")
	for _, p := range []api.Pin{x, y} {
		b.FailUnpin(p.Cid, errors.New("repo locked"))
		if err := tr.Untrack(ctx5s(t), p.Cid); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []api.Pin{x, y} {
		waitFor(t, "unpin gave up and left memory", func() (bool, string) {
			e, ok, _ := tr.queue.QueueGet(p.Cid)
			return ok && e.Failed && tr.QueueLen() == 0, fmt.Sprintf("%+v %d", e, tr.QueueLen())
		})
		b.Heal(p.Cid)
	}
	calls := b.UnpinCalls(y.Cid)
	pi, err := tr.RecoverUnpin(ctx5s(t), x.Cid)
	if err != nil || pi.Status != api.TrackerStatusUnpinQueued {
		t.Fatalf("recover: %+v %v", pi, err)
	}
	waitFor(t, "x unpinned", func() (bool, string) {
		pi, _ := tr.StatusUnknown(ctx5s(t), x.Cid)
		return pi.Status == api.TrackerStatusUnpinned, pi.Status.String()
	})
	if pi, _ := tr.StatusUnknown(ctx5s(t), y.Cid); pi.Status != api.TrackerStatusUnpinError || b.UnpinCalls(y.Cid) != calls {
		t.Fatalf("y: %s after %d calls (%d before): recovered with x", pi.Status, b.UnpinCalls(y.Cid), calls)
	}
}
