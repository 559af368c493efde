package tracker

import (
	"fmt"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/persistence"
)

// A page read holds X's pin entry P (beyond the cursor). Meanwhile X is admitted by express
// (its put keeps P's place), pinned and settled: the QueueDel deletes P and the eviction marks
// X. X's unpin then runs in memory only (the queue is empty), fails for good, and a recover
// (RequeueOne, or RequeueFailed) moves the failed unpin to the tail, and no unpin note covers
// X (no unpin put). When a requeue ended the mark, the page's stale P was taken as a pin and
// its settling (QueueDel by CID) deleted the requeued unpin: X stayed pinned with nothing
// queued (a reviewer's sequence). The mark is now P's seq, which the requeue's entry passes.
func TestRequeuedUnpinAfterAnEvictionBeatsThePagesStalePin(t *testing.T) {
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprint("recover all ", all), func(t *testing.T) {
			cfg := testConfig()
			st := testQueue(t)
			x := testPin(t, "x")
			if _, err := st.WriteQueue([]persistence.QueueOp{{Kind: persistence.QueuePut, Entry: persistence.QueueEntry{Cid: x.Cid, Mode: x.Mode, Created: x.Timestamp}}}, 0); err != nil {
				t.Fatal(err)
			}
			q := &gatedQueue{Store: st, read: make(chan struct{}), release: make(chan struct{})}
			b := fake.New()
			tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(tr.Stop)
			<-q.read // the startup page holds P (x's pin) and waits
			tr.Expect(x.Cid)
			if err := tr.Track(ctx5s(t), x); err != nil { // express: P keeps its place
				t.Fatal(err)
			}
			waitFor(t, "x pinned, settled and out of the queue", func() (bool, string) {
				_, ok, _ := st.QueueGet(x.Cid)
				_, found, _ := tr.inFlight(ctx5s(t), x.Cid)
				return b.Pinned(x.Cid) && !ok && !found && tr.QueueLen() == 0, fmt.Sprint(ok, found, tr.QueueLen())
			})
			b.FailUnpin(x.Cid, fmt.Errorf("boom"))
			if err := tr.Untrack(ctx5s(t), x.Cid); err != nil { // in memory only: the queue is empty
				t.Fatal(err)
			}
			waitFor(t, "x's unpin failed and left the window", func() (bool, string) {
				e, ok, _ := st.QueueGet(x.Cid)
				pi := status(t, tr, x)
				return ok && e.Failed && pi.Status == api.TrackerStatusUnpinError, fmt.Sprint(pi.Status, ok, e.Failed)
			})
			b.Heal(x.Cid)
			if all {
				if _, err := tr.RecoverAll(ctx5s(t)); err != nil { // QueueRequeueFailed
					t.Fatal(err)
				}
			} else if _, err := tr.RecoverUnpin(ctx5s(t), x.Cid); err != nil { // QueueRequeueOne
				t.Fatal(err)
			}
			waitFor(t, "x's unpin queued again", func() (bool, string) {
				e, ok, _ := st.QueueGet(x.Cid)
				return ok && !e.Failed && e.Unpin, ""
			})
			close(q.release)
			waitFor(t, "queue drained", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
			waitFor(t, "x unpinned", func() (bool, string) {
				e, ok, _ := st.QueueGet(x.Cid)
				return !b.Pinned(x.Cid) && !ok, fmt.Sprint("pinned ", b.Pinned(x.Cid), " queued ", ok, " unpin ", e.Unpin)
			})
		})
	}
}
