package tracker

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// crashBlocked blocks the tracker actor until released, then panics it (a restart).
type crashBlocked struct{}

// Held reads the incarnation, then asks TrackedSet: a restart between the two has the fresh
// instance answer, without the memory-only unpin it lost, and Held must not trust that answer.
func TestHeldDistrustsAnAnswerOfARestartedInstance(t *testing.T) {
	release := make(chan struct{})
	var armed atomic.Bool
	hook := func(m any) {
		if _, ok := m.(crashBlocked); ok && armed.Load() {
			<-release
			panic("injected")
		}
	}
	faultHook.Store(&hook)
	t.Cleanup(func() { faultHook.Store(nil) })
	cfg := testConfig()
	tr, b := newTestTracker(t, cfg)
	p := testPin(t, "held-race")
	if err := tr.Track(ctx5s(t), p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pinned", func() (bool, string) { return b.Pinned(p.Cid), "" })
	b.FailUnpin(p.Cid, errors.New("ipfs down"))
	tr.MarkReconciled(tr.Incarnation())                 // a state sync listed the node
	if err := tr.Untrack(ctx5s(t), p.Cid); err != nil { // memory-only unpin
		t.Fatal(err)
	}
	if keep, err := tr.Held(ctx5s(t)); err != nil || !keep(p.Cid.Bytes()) {
		t.Fatalf("before: keep=%v err=%v", keep != nil && keep(p.Cid.Bytes()), err)
	}
	armed.Store(true)
	tr.system.Root.Send(tr.PID(), crashBlocked{})
	type res struct {
		keep func([]byte) bool
		err  error
	}
	out := make(chan res, 1)
	go func() { k, err := tr.Held(ctx5s(t)); out <- res{k, err} }()
	time.Sleep(200 * time.Millisecond) // Held has compared and sent its listQuery
	armed.Store(false)
	close(release)
	r := <-out
	t.Logf("incarnation now %d, reconciled %d, err %v", tr.Incarnation(), tr.reconciled.Load(), r.err)
	if r.err == nil && !r.keep(p.Cid.Bytes()) {
		t.Fatal("Held let the tombstone of a lost memory-only unpin go (TrackedSet answered by the restarted instance)")
	}
}

// A reconciled tracker whose queue is full still queues the unpin of a settled CID that a
// pinset event brings (unpins are never refused), and Held keeps that CID's tombstone.
func TestHeldKeepsAnUnpinQueuedIntoAFullQueue(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins, cfg.QueueWindow, cfg.MaxPinQueueSize = 2, 5, 3
	tr, b := newTestTracker(t, cfg)
	x := testPin(t, "settled-x")
	if err := tr.Track(ctx5s(t), x); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "x pinned", func() (bool, string) { return b.Pinned(x.Cid), "" })
	waitFor(t, "x settled", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	for i := 0; i < 3; i++ {
		p := testPin(t, fmt.Sprint("stalled", i))
		b.StallPin(p.Cid)
		if err := tr.Track(ctx5s(t), p); err != nil {
			t.Fatal(err)
		}
	}
	tr.MarkReconciled(tr.Incarnation())
	tr.Reconcile([]crdt.Op{{Kind: crdt.OpUnpin, Cid: x.Cid}}) // the tombstone's event
	keep, err := tr.Held(ctx5s(t))
	if err != nil {
		t.Fatal(err)
	}
	st, _, _ := tr.inFlight(ctx5s(t), x.Cid)
	t.Logf("keep=%v pinned=%v qlen=%d status=%v", keep(x.Cid.Bytes()), b.Pinned(x.Cid), tr.QueueLen(), st)
	if !keep(x.Cid.Bytes()) && b.Pinned(x.Cid) {
		t.Fatal("x is still pinned on the node and Held lets its tombstone go")
	}
}

// A full queue refuses pins, not unpins: an unpin event of a CID beyond the window is queued
// however full the queue is, and a refused pin does not make Held keep every tombstone.
func TestFullQueueTakesUnpinsAndRefusedPinsKeepHeldPrecise(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins, cfg.QueueWindow, cfg.MaxPinQueueSize = 2, 2, 4
	tr, b := newTestTracker(t, cfg)
	x := testPin(t, "pinned x")
	if err := tr.Track(ctx5s(t), x); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "x pinned", func() (bool, string) { return b.Pinned(x.Cid), "" })
	waitFor(t, "x settled", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	for i := range 4 {
		p := testPin(t, fmt.Sprint("stalled ", i))
		b.StallPin(p.Cid)
		if err := tr.Track(ctx5s(t), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Track(ctx5s(t), testPin(t, "one too many")); err == nil {
		t.Fatal("a pin beyond max_pin_queue_size was taken")
	}
	tr.MarkReconciled(tr.Incarnation())
	if err := tr.Untrack(ctx5s(t), x.Cid); err != nil {
		t.Fatalf("an unpin refused by a full queue: %v", err)
	}
	keep, err := tr.Held(ctx5s(t))
	if err != nil {
		t.Fatal(err)
	}
	if !keep(x.Cid.Bytes()) {
		t.Fatal("the queued unpin's tombstone is not held")
	}
	if keep(testPin(t, "unrelated").Cid.Bytes()) {
		t.Fatal("a refused pin made Held keep every tombstone")
	}
}

// TestHeldLeavesPinsOut: Held names the CIDs with an unpin to do (in the window, failed, or
// queued beyond it), not those with a pin to do, so its set is as large as the unpins.
func TestHeldLeavesPinsOut(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins, cfg.QueueWindow, cfg.PriorityPinMaxRetries = 1, 2, 1
	tr, b := newTestTracker(t, cfg)
	stalled, queued := testPin(t, "stalled"), testPin(t, "queued beyond the window")
	b.StallPin(stalled.Cid)
	failed, inWindow, beyond := testPin(t, "failed unpin"), testPin(t, "unpin in the window"), testPin(t, "unpin beyond")
	b.FailUnpin(failed.Cid, errors.New("ipfs down"))
	if err := tr.Untrack(ctx5s(t), failed.Cid); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unpin gave up", func() (bool, string) {
		e, ok, _ := tr.queue.QueueGet(failed.Cid)
		return ok && e.Failed && tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen())
	})
	// The window: the stalled pin running, then the unpin waiting for the slot; beyond it, in
	// the durable queue: two pins, then an unpin.
	if err := tr.Track(ctx5s(t), stalled); err != nil {
		t.Fatal(err)
	}
	if err := tr.Untrack(ctx5s(t), inWindow.Cid); err != nil {
		t.Fatal(err)
	}
	for _, p := range []api.Pin{testPin(t, "another pin beyond"), queued} {
		if err := tr.Track(ctx5s(t), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Untrack(ctx5s(t), beyond.Cid); err != nil {
		t.Fatal(err)
	}
	if n := tr.queue.QueueLen(); n != 3 {
		t.Fatalf("durable queue of %d, want the 3 beyond the window", n)
	}
	tr.MarkReconciled(tr.Incarnation())
	keep, err := tr.Held(ctx5s(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []api.Pin{failed, inWindow, beyond} {
		if !keep(p.Cid.Bytes()) {
			t.Fatalf("the tombstone of %q is not held", p.Name)
		}
	}
	for _, p := range []api.Pin{stalled, queued} {
		if keep(p.Cid.Bytes()) {
			t.Fatalf("a pin to do (%q) is held", p.Name)
		}
	}
}
