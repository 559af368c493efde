package tracker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/persistence"
)

// crashBlocked blocks the tracker actor until released, then panics it (a restart).
type crashBlocked struct{}

// doneWatch is a context that closes called at the first call of Done: ask.Request calls it
// once its message is sent, to wait for the reply. A context derived in Held or its request
// (WithTimeout calls Done when made) would close it early and this test would race again.
type doneWatch struct {
	context.Context
	once   sync.Once
	called chan struct{}
}

func (w *doneWatch) Done() <-chan struct{} {
	w.once.Do(func() { close(w.called) })
	return w.Context.Done()
}

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
	waiting := &doneWatch{Context: ctx5s(t), called: make(chan struct{})}
	go func() { k, err := tr.Held(waiting); out <- res{k, err} }()
	// Held has compared the incarnations and sent its listQuery: the request now waits on
	// ctx.Done() for the reply, which only the restarted instance can give.
	select {
	case <-waiting.called:
	case r := <-out:
		t.Fatalf("Held returned (err %v) before it waited for the blocked tracker's answer", r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for Held to send its listQuery")
	}
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

// TestHeldKeepsTheTombstoneOfAStalePinEntry: a pin entry whose unpin was lost (its queue
// write, by a crash) will pin a CID whose record is a tombstone; Held keeps that tombstone, so
// the state sync after the pin can still unpin it (a reviewer's sequence against a Held that
// named only unpins).
func TestHeldKeepsTheTombstoneOfAStalePinEntry(t *testing.T) {
	st := testQueue(t)
	pins, _ := storedPins(t, st, "stale", 1)
	x := pins[0]
	if _, err := st.WriteQueue([]persistence.QueueOp{{Kind: persistence.QueuePut, Entry: persistence.QueueEntry{Cid: x.Cid, Mode: x.Mode, Created: x.Timestamp}}}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply([]crdt.Op{{Origin: peer.ID("origin"), Seq: 100, Clock: crdt.HLC(100), Kind: crdt.OpUnpin, Cid: x.Cid}}); err != nil {
		t.Fatal(err)
	}
	b := fake.New()
	b.StallPin(x.Cid)
	tr, err := New(quietSystem().Root, testConfig(), b, st, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	tr.MarkReconciled(tr.Incarnation()) // the startup sync: x is not on the node, and tracked
	keep, err := tr.Held(ctx5s(t))
	if err != nil {
		t.Fatal(err)
	}
	if !keep(x.Cid.Bytes()) {
		t.Fatal("the tombstone of a CID a stale pin entry will pin is not held")
	}
}
