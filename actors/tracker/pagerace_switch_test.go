package tracker

import (
	"fmt"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/persistence"
)

// switchQueue: its second page read, once read, waits until release2; the first QueueDel of
// cid x waits (before writing) until delRelease.
type switchQueue struct {
	*persistence.Store
	x                      string
	mu                     sync.Mutex
	pages, dels            int
	read2, release2        chan struct{}
	delEntered, delRelease chan struct{}
	del2                   chan struct{}
}

func (q *switchQueue) QueuePage(after uint64, limit int) ([]persistence.QueueEntry, error) {
	es, err := q.Store.QueuePage(after, limit)
	q.mu.Lock()
	i := q.pages
	q.pages++
	q.mu.Unlock()
	if i == 1 {
		close(q.read2)
		<-q.release2
	}
	return es, err
}

func (q *switchQueue) WriteQueue(ops []persistence.QueueOp, max int) (persistence.QueueResult, error) {
	for _, op := range ops {
		if op.Kind == persistence.QueueDel && op.Entry.Cid.KeyString() == q.x {
			q.mu.Lock()
			q.dels++
			n := q.dels
			q.mu.Unlock()
			switch n {
			case 1:
				close(q.delEntered)
				<-q.delRelease
			case 2:
				close(q.del2)
			}
		}
	}
	return q.Store.WriteQueue(ops, max)
}

// X is queued twice: in a batch entry B (seq 1) and as a single pin S (seq 3). Page 1 takes
// B's X (a batch item: not durable) and W; page 2 reads S and is held. X's pin settles: its
// QueueDel removes S (removed = 3), but before it lands X is unpinned (switchOp: no put, the
// item is not durable), so the eviction is skipped (gen changed). X's unpin settles: its
// QueueDel removes nothing (removed = 0), the eviction marks nothing. The page's stale S is
// taken as a pin: X ends pinned with a tombstone record and nothing queued.
// TestStalePinAfterANonDurableItemSwitchedDuringAPage: X's pin settles and its QueueDel removes
// X's single pin entry S that a page read holds, but X (a batch item, not durable) is unpinned
// before that write is handled: the item changed, so it is not evicted then, and its unpin's
// settling removes nothing. The mark must come from the write that removed S, or the page takes
// S and pins X again under its tombstone (a reviewer's sequence).
func TestStalePinAfterANonDurableItemSwitchedDuringAPage(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins, cfg.QueueWindow = 3, 3
	st := testQueue(t)
	pins, _ := storedPins(t, st, "b", 2)
	x, y := pins[0], pins[1]
	w, z := testPin(t, "w"), testPin(t, "z")
	if _, err := st.WriteQueue([]persistence.QueueOp{
		{Kind: persistence.QueuePutBatch, Entry: persistence.QueueEntry{Batch: []persistence.BatchItem{{Cid: x.Cid}, {Cid: y.Cid}}}},
		{Kind: persistence.QueuePut, Entry: persistence.QueueEntry{Cid: w.Cid, Mode: w.Mode, Created: w.Timestamp}},
		{Kind: persistence.QueuePut, Entry: persistence.QueueEntry{Cid: x.Cid, Mode: x.Mode, Created: x.Timestamp}}, // a state sync's Track(X)
	}, 0); err != nil {
		t.Fatal(err)
	}
	q := &switchQueue{Store: st, x: x.Cid.KeyString(), read2: make(chan struct{}), release2: make(chan struct{}),
		delEntered: make(chan struct{}), delRelease: make(chan struct{}), del2: make(chan struct{})}
	b := fake.New()
	b.StallPin(x.Cid)
	b.StallPin(y.Cid)
	tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	<-q.read2 // page 1 took X, Y (batch) and W; W settled and left; page 2 read S and waits
	b.Release(x.Cid)
	<-q.delEntered // X pinned and settling: its QueueDel (removes S) is held
	unpin := crdt.Op{Origin: peer.ID("origin"), Seq: 100, Clock: crdt.HLC(100), Kind: crdt.OpUnpin, Cid: x.Cid}
	if _, err := st.Apply([]crdt.Op{unpin}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Untrack(ctx5s(t), x.Cid); err != nil { // as the unpin's event does: X held, no put
		t.Fatal(err)
	}
	close(q.delRelease)
	<-q.del2                                      // X unpinned and settling: its QueueDel removes nothing
	if err := tr.Track(ctx5s(t), z); err != nil { // a put behind it: answered once X's eviction was handled
		t.Fatal(err)
	}
	if b.Pinned(x.Cid) {
		t.Fatal("x not unpinned")
	}
	close(q.release2) // page 2 hands S (X's pin, deleted since) in
	b.Release(y.Cid)
	waitFor(t, "queue drained", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	if b.Pinned(x.Cid) {
		t.Fatal("x pinned on the node though its last operation is an unpin (the page's stale pin was taken)")
	}
}
