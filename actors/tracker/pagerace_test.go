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

// gatedQueue holds its first page read, once read, until release is closed.
type gatedQueue struct {
	*persistence.Store
	once          sync.Once
	read, release chan struct{}
}

func (q *gatedQueue) QueuePage(after uint64, limit int) ([]persistence.QueueEntry, error) {
	es, err := q.Store.QueuePage(after, limit)
	first := false
	q.once.Do(func() { first = true })
	if first {
		close(q.read)
		<-q.release
	}
	return es, err
}

// TestChangeDuringAPageReadWins: a CID's operation queued while a page read of its older
// entry is in flight is the one done: the page's copy is stale (a reviewer's sequence: the
// pin was taken from the page, the unpin queued meanwhile was skipped as held already and
// then deleted by the pin's settling, leaving the CID pinned with a tombstone record and
// nothing queued).
func TestChangeDuringAPageReadWins(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprint("batched ", batched), func(t *testing.T) {
			cfg := testConfig()
			cfg.QueueWindow = 2
			st := testQueue(t)
			pins, _ := storedPins(t, st, "x", 1)
			x := pins[0]
			op := persistence.QueueOp{Kind: persistence.QueuePut, Entry: persistence.QueueEntry{Cid: x.Cid, Mode: x.Mode, Created: x.Timestamp}}
			if batched {
				op = persistence.QueueOp{Kind: persistence.QueuePutBatch, Entry: persistence.QueueEntry{Batch: []persistence.BatchItem{{Cid: x.Cid}}}}
			}
			if _, err := st.WriteQueue([]persistence.QueueOp{op}, 0); err != nil {
				t.Fatal(err)
			}
			q := &gatedQueue{Store: st, read: make(chan struct{}), release: make(chan struct{})}
			b := fake.New()
			tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(tr.Stop)
			<-q.read // the page holds x's pin (and, batched, its live record)
			unpin := crdt.Op{Origin: peer.ID("origin"), Seq: 100, Clock: crdt.HLC(100), Kind: crdt.OpUnpin, Cid: x.Cid}
			if _, err := st.Apply([]crdt.Op{unpin}); err != nil {
				t.Fatal(err)
			}
			if err := tr.Untrack(ctx5s(t), x.Cid); err != nil { // as the unpin's event does
				t.Fatal(err)
			}
			close(q.release)
			waitFor(t, "queue drained", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
			if b.Pinned(x.Cid) {
				t.Fatal("x pinned on the node though its last operation is an unpin")
			}
		})
	}
}
