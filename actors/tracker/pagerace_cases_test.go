package tracker

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// hookQueue: its first page read waits, before reading, until release is closed; writes go
// through onWrite when set.
type hookQueue struct {
	*persistence.Store
	once    sync.Once
	entered chan struct{}
	release chan struct{}
	paged   chan struct{} // closed once the first page read returned
	onWrite atomic.Pointer[func(ops []persistence.QueueOp, do func() (persistence.QueueResult, error)) (persistence.QueueResult, error)]
}

func newHookQueue(st *persistence.Store) *hookQueue {
	return &hookQueue{Store: st, entered: make(chan struct{}), release: make(chan struct{}), paged: make(chan struct{})}
}

func (q *hookQueue) QueuePage(after uint64, limit int) ([]persistence.QueueEntry, error) {
	first := false
	q.once.Do(func() { first = true })
	if first {
		close(q.entered)
		<-q.release
		defer close(q.paged)
	}
	return q.Store.QueuePage(after, limit)
}

func (q *hookQueue) WriteQueue(ops []persistence.QueueOp, max int) (persistence.QueueResult, error) {
	do := func() (persistence.QueueResult, error) { return q.Store.WriteQueue(ops, max) }
	if h := q.onWrite.Load(); h != nil {
		return (*h)(ops, do)
	}
	return do()
}

// A single put of X, then a batch entry holding X written after it (a later pinset change),
// both read by one page: the batch item is the CID's latest, yet staleInBatch skips it.
// Here: a state sync's Track(X), then X unpinned in the pinset (its unpin goes into a batch
// entry): X ends pinned on the node with a tombstone record. Passes before 0617ed1.
func TestBatchNewerThanASinglePutIsTaken(t *testing.T) {
	cfg := testConfig()
	cfg.QueueWindow = 4
	st := testQueue(t)
	pins, _ := storedPins(t, st, "r", 2)
	y, x := pins[0], pins[1]
	if _, err := st.WriteQueue([]persistence.QueueOp{{Kind: persistence.QueuePut, Entry: persistence.QueueEntry{Cid: y.Cid, Mode: y.Mode, Created: y.Timestamp}}}, 0); err != nil {
		t.Fatal(err)
	}
	q := newHookQueue(st)
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	<-q.entered                                   // the startup page read is under way (not read yet)
	if err := tr.Track(ctx5s(t), x); err != nil { // a state sync's: single put, X pin at the tail
		t.Fatal(err)
	}
	unpin := crdt.Op{Origin: peer.ID("origin"), Seq: 100, Clock: crdt.HLC(100), Kind: crdt.OpUnpin, Cid: x.Cid}
	if _, err := st.Apply([]crdt.Op{unpin}); err != nil {
		t.Fatal(err)
	}
	tr.system.Root.Send(tr.PID(), messages.PinsetChanged{Ops: []crdt.Op{unpin}}) // backlog: a batch entry
	waitFor(t, "batch entry written", func() (bool, string) { return st.QueueBatched() == 1, fmt.Sprint(st.QueueBatched()) })
	close(q.release) // the page reads Y, X's pin, then the batch entry with X's tombstone
	waitFor(t, "queue drained", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	if b.Pinned(x.Cid) {
		t.Fatal("x pinned on the node though its last change (a batch entry after the single put) is an unpin")
	}
}

// A pin put refused (queue full) and, in the same WriteQueue, a RecoverAll that moves X's
// failed unpin to the tail: the page reads X's unpin (its latest entry) before the refusal is
// reported, takes it as made stale by the pin put, and moves the cursor past it. X's unpin is
// never paged (until a restart): X stays pinned, its entry queued for good. Passes before 0617ed1.
func TestRefusedPinDuringAPageSkipsNothing(t *testing.T) {
	cfg := testConfig()
	cfg.QueueWindow = 8
	cfg.MaxPinQueueSize = 2
	st := testQueue(t)
	pins, _ := storedPins(t, st, "f", 3)
	y, z, x := pins[0], pins[1], pins[2]
	b := fake.New()
	if err := b.Pin(ctx5s(t), x.Cid, api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteQueue([]persistence.QueueOp{
		{Kind: persistence.QueuePut, Entry: persistence.QueueEntry{Cid: y.Cid, Mode: y.Mode, Created: y.Timestamp}},
		{Kind: persistence.QueueFail, Entry: persistence.QueueEntry{Cid: x.Cid, Unpin: true, Mode: api.PinModeRecursive, Attempts: 3, Err: "boom"}},
	}, 0); err != nil {
		t.Fatal(err)
	}
	q := newHookQueue(st)
	w1, w2 := make(chan struct{}), make(chan struct{})
	w2written := make(chan struct{})
	hook := func(ops []persistence.QueueOp, do func() (persistence.QueueResult, error)) (persistence.QueueResult, error) {
		for _, op := range ops {
			switch {
			case op.Kind == persistence.QueuePut && op.Entry.Cid.KeyString() == z.Cid.KeyString():
				<-w1 // held until Track(X) and RecoverAll wait behind it
				return do()
			case op.Kind == persistence.QueueRequeueFailed:
				res, err := do()
				close(w2written)
				<-w2 // reported once the page was handled
				return res, err
			}
		}
		return do()
	}
	q.onWrite.Store(&hook)
	tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	<-q.entered
	root := tr.system.Root
	root.Send(tr.PID(), messages.UntrackPin{Cid: z.Cid}) // a write in flight (held)
	root.Send(tr.PID(), messages.TrackPin{Pin: x})       // pending: refused when written (Y, Z queued)
	root.Send(tr.PID(), messages.RecoverAllPins{})       // pending: X's failed unpin to the tail
	status(t, tr, y)                                     // all three handled
	close(w1)
	<-w2written
	close(q.release) // reads Y, Z's unpin, X's requeued unpin
	<-q.paged
	waitStatus(t, tr, y, api.TrackerStatusPinned) // the page was handled
	close(w2)
	waitFor(t, "queue drained", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	if b.Pinned(x.Cid) {
		t.Fatal("x still pinned")
	}
}

// Pre-existing (evictedWhilePaging): X settles and leaves the window while a page read is
// under way, then an Untrack(X) puts a new unpin entry that lands before the read: the page
// skips it as "settled while the page was read" and the cursor moves past it. X stays pinned.
func TestPutAfterAnEvictionDuringAPageIsTaken(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins, cfg.QueueWindow = 2, 2
	st := testQueue(t)
	q := newHookQueue(st)
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	<-q.entered
	w, x, v := testPin(t, "w"), testPin(t, "x"), testPin(t, "v")
	b.StallPin(w.Cid)
	b.StallPin(x.Cid)
	for _, p := range []api.Pin{w, x, v} { // w, x in memory (the window is full), v queued
		if err := tr.Track(ctx5s(t), p); err != nil {
			t.Fatal(err)
		}
	}
	b.Release(w.Cid)
	b.Release(x.Cid)
	waitFor(t, "w and x left the window", func() (bool, string) { return tr.QueueLen() == 1, fmt.Sprint(tr.QueueLen()) })
	if err := tr.Untrack(ctx5s(t), x.Cid); err != nil { // queued: v waits in the durable queue
		t.Fatal(err)
	}
	close(q.release)
	waitFor(t, "queue drained", func() (bool, string) {
		e, ok, _ := st.QueueGet(x.Cid)
		return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen(), " x queued: ", ok, " unpin: ", e.Unpin, " pinned: ", b.Pinned(x.Cid))
	})
	if b.Pinned(x.Cid) {
		t.Fatal("x still pinned")
	}
}

// The refusal of a pin put (queue full) is reported after the page: the page skipped the
// batch item of the same CID as "queued again since", though the put queued nothing, and the
// entry (nothing live in it) was deleted. X, accepted in the batch entry, is never pinned.
// Passes before 0617ed1.
func TestRefusedPinDuringAPageKeepsTheBatchItem(t *testing.T) {
	cfg := testConfig()
	cfg.QueueWindow = 4
	cfg.MaxPinQueueSize = 1
	st := testQueue(t)
	pins, _ := storedPins(t, st, "g", 1)
	x := pins[0]
	if _, err := st.WriteQueue([]persistence.QueueOp{{Kind: persistence.QueuePutBatch, Entry: persistence.QueueEntry{Batch: []persistence.BatchItem{{Cid: x.Cid}}}}}, 0); err != nil {
		t.Fatal(err)
	}
	q := newHookQueue(st)
	release := make(chan struct{})
	hook := func(ops []persistence.QueueOp, do func() (persistence.QueueResult, error)) (persistence.QueueResult, error) {
		res, err := do()
		if ops[0].Kind == persistence.QueuePut {
			<-release // reported after the page
		}
		return res, err
	}
	q.onWrite.Store(&hook)
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	<-q.entered
	tr.system.Root.Send(tr.PID(), messages.TrackPin{Pin: x}) // e.g. a state sync's: refused, full
	status(t, tr, x)
	close(q.release)
	<-q.paged
	status(t, tr, x) // the page was handled
	close(release)
	waitFor(t, "x pinned", func() (bool, string) { return b.Pinned(x.Cid), fmt.Sprint("queue ", tr.QueueLen()) })
}
