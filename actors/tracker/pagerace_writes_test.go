package tracker

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// pagesQueue holds its first two page reads (before reading) until released; a write whose
// first op is a single put of held[key] waits (before writing) until that channel is closed.
type pagesQueue struct {
	*persistence.Store
	mu       sync.Mutex
	n        int
	entered  [3]chan struct{}
	release  [2]chan struct{}
	wEntered map[string]chan struct{}
	wRelease map[string]chan struct{}
}

func putKey(c api.Cid, unpin bool) string { return fmt.Sprint(c.KeyString(), unpin) }

func newPagesQueue(st *persistence.Store, holds ...string) *pagesQueue {
	q := &pagesQueue{Store: st, wEntered: map[string]chan struct{}{}, wRelease: map[string]chan struct{}{}}
	for i := range q.entered {
		q.entered[i] = make(chan struct{})
	}
	for i := range q.release {
		q.release[i] = make(chan struct{})
	}
	for _, h := range holds {
		q.wEntered[h], q.wRelease[h] = make(chan struct{}), make(chan struct{})
	}
	return q
}

func (q *pagesQueue) QueuePage(after uint64, limit int) ([]persistence.QueueEntry, error) {
	q.mu.Lock()
	i := q.n
	q.n++
	q.mu.Unlock()
	if i < len(q.entered) {
		close(q.entered[i])
	}
	if i < len(q.release) {
		<-q.release[i]
	}
	return q.Store.QueuePage(after, limit)
}

func (q *pagesQueue) WriteQueue(ops []persistence.QueueOp, max int) (persistence.QueueResult, error) {
	if op := ops[0]; op.Kind == persistence.QueuePut {
		if rel, ok := q.wRelease[putKey(op.Entry.Cid, op.Entry.Unpin)]; ok {
			close(q.wEntered[putKey(op.Entry.Cid, op.Entry.Unpin)])
			<-rel
		}
	}
	return q.Store.WriteQueue(ops, max)
}

// pageRaceInflight: a page starts while X's first put is in flight and its second one
// pending (pageStarts noted pending before in flight, so the older put's note won).
func pageRaceInflight(t *testing.T, firstUnpin, readLast bool) (*fake.Backend, *Tracker, *persistence.Store, *pagesQueue, api.Pin) {
	cfg := testConfig()
	cfg.QueueWindow = 8
	st := testQueue(t)
	y, w, x := testPin(t, "y"), testPin(t, "w"), testPin(t, "x")
	if _, err := st.WriteQueue([]persistence.QueueOp{{Kind: persistence.QueuePut, Entry: persistence.QueueEntry{Cid: y.Cid, Mode: y.Mode, Created: y.Timestamp}}}, 0); err != nil {
		t.Fatal(err)
	}
	first, second := putKey(x.Cid, firstUnpin), putKey(x.Cid, !firstUnpin)
	q := newPagesQueue(st, first, second)
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	<-q.entered[0]                                // the startup page read waits
	if err := tr.Track(ctx5s(t), w); err != nil { // lands during page 1: page 1 is not the last
		t.Fatal(err)
	}
	root := tr.system.Root
	send := func(unpin bool) {
		if unpin {
			root.Send(tr.PID(), messages.UntrackPin{Cid: x.Cid})
		} else {
			root.Send(tr.PID(), messages.TrackPin{Pin: x})
		}
	}
	send(firstUnpin) // in flight (held)
	<-q.wEntered[first]
	send(!firstUnpin) // pending
	status(t, tr, y)  // both handled
	close(q.release[0])
	<-q.entered[1] // page 2 began: X's first put in flight, its second pending
	close(q.wRelease[first])
	<-q.wEntered[second] // the first landed, the second is being written (held)
	if readLast {        // page 2 reads X's entry as the second put left it
		close(q.wRelease[second])
		waitFor(t, "second put landed", func() (bool, string) {
			e, _, _ := st.QueueGet(x.Cid)
			return e.Unpin != firstUnpin, ""
		})
		close(q.release[1])
		return b, tr, st, q, x
	}
	close(q.release[1]) // page 2 reads X's entry as the first put left it
	<-q.entered[2]      // page 2 was handled (page 3 began)
	close(q.wRelease[second])
	return b, tr, st, q, x
}

// A pin put in flight and an unpin put pending as a page starts: the page reads the
// pin (the unpin not written yet), takes it, and the pin's settling deletes the unpin.
func TestPageAfterAPinInFlightAndAnUnpinPending(t *testing.T) {
	b, tr, st, _, x := pageRaceInflight(t, false, false)
	waitFor(t, "queue drained", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	if e, ok, _ := st.QueueGet(x.Cid); b.Pinned(x.Cid) || ok {
		t.Fatalf("x pinned %v, queued %v (unpin %v): its last put was an unpin", b.Pinned(x.Cid), ok, e.Unpin)
	}
}

// An unpin put in flight and a pin put pending as a page starts: the note says
// "unpinned since", the page reads X's pin (its latest entry) and skips it; the cursor moves
// past it and X is not pinned until a restart.
func TestPageAfterAnUnpinInFlightAndAPinPending(t *testing.T) {
	b, tr, st, _, x := pageRaceInflight(t, true, true)
	waitFor(t, "x pinned", func() (bool, string) {
		e, ok, _ := st.QueueGet(x.Cid)
		return b.Pinned(x.Cid), fmt.Sprint("queue ", tr.QueueLen(), " x queued ", ok, " unpin ", e.Unpin)
	})
}

// X fails for good and leaves the window while a page read waits (evictedWhilePaging
// marks it); a recover moves its failed entry back to the queue's tail before the read. The
// page reads that entry, skips it as "settled while the page was read", and the cursor moves
// past it: the recovered operation was never run (until a restart). A requeue ends the mark.
func TestRequeueAfterAnEvictionDuringAPageIsTaken(t *testing.T) {
	for _, unpin := range []bool{false, true} {
		t.Run(fmt.Sprint("unpin ", unpin), func(t *testing.T) {
			cfg := testConfig()
			st := testQueue(t)
			q := newHookQueue(st)
			b := fake.New()
			tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(tr.Stop)
			<-q.entered // the startup page read waits
			x := testPin(t, "x")
			want := api.TrackerStatusPinError
			if unpin {
				if err := b.Pin(ctx5s(t), x.Cid, api.PinModeRecursive, nil); err != nil {
					t.Fatal(err)
				}
				b.FailUnpin(x.Cid, fmt.Errorf("boom"))
				if err := tr.Untrack(ctx5s(t), x.Cid); err != nil { // in memory: the queue is empty
					t.Fatal(err)
				}
				want = api.TrackerStatusUnpinError
			} else {
				b.FailPin(x.Cid, fmt.Errorf("boom"))
				if err := tr.Track(ctx5s(t), x); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "x failed and left the window", func() (bool, string) {
				e, ok, _ := st.QueueGet(x.Cid)
				pi := status(t, tr, x)
				return ok && e.Failed && pi.Status == want, fmt.Sprint(pi.Status, ok, e.Failed)
			})
			b.Heal(x.Cid)
			if unpin {
				if _, err := tr.RecoverUnpin(ctx5s(t), x.Cid); err != nil { // QueueRequeueOne
					t.Fatal(err)
				}
			} else if _, err := tr.RecoverAll(ctx5s(t)); err != nil { // QueueRequeueFailed
				t.Fatal(err)
			}
			waitFor(t, "x queued again", func() (bool, string) {
				e, ok, _ := st.QueueGet(x.Cid)
				return ok && !e.Failed, ""
			})
			close(q.release)
			waitFor(t, "x recovered", func() (bool, string) {
				e, ok, _ := st.QueueGet(x.Cid)
				return b.Pinned(x.Cid) != unpin && !ok, fmt.Sprint("pinned ", b.Pinned(x.Cid), " queued ", ok, " failed ", e.Failed, " len ", tr.QueueLen())
			})
		})
	}
}

// A switchOp unpin of a durable item notes X; the unpin
// settles, X comes back into the window in memory only as a pin (no put: the note stays), that
// pin fails for good, and RecoverAll moves its failed pin entry to the tail. The page reads
// X's pin (its latest entry) and skipped it as "unpinned since": a failed pin ends the note.
func TestUnpinNoteEndsWithAFailedPin(t *testing.T) {
	cfg := testConfig()
	st := testQueue(t)
	q := newHookQueue(st)
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	<-q.entered // the startup page read waits
	x := testPin(t, "x")
	b.StallPin(x.Cid)
	tr.Expect(x.Cid)
	if err := tr.Track(ctx5s(t), x); err != nil { // express: a durable item
		t.Fatal(err)
	}
	waitStatus(t, tr, x, api.TrackerStatusPinning)
	if err := tr.Untrack(ctx5s(t), x.Cid); err != nil { // switchOp: a single unpin put, noted
		t.Fatal(err)
	}
	waitFor(t, "x unpinned and out of the queue", func() (bool, string) {
		_, ok, _ := st.QueueGet(x.Cid)
		_, found, _ := tr.inFlight(ctx5s(t), x.Cid)
		return !ok && tr.QueueLen() == 0 && !found && b.UnpinCalls(x.Cid) > 0, fmt.Sprint(ok, tr.QueueLen(), found)
	})
	b.Heal(x.Cid)
	b.FailPin(x.Cid, fmt.Errorf("boom"))
	if err := tr.Track(ctx5s(t), x); err != nil { // in memory: the queue is empty
		t.Fatal(err)
	}
	waitFor(t, "x failed and left the window", func() (bool, string) {
		e, ok, _ := st.QueueGet(x.Cid)
		return ok && e.Failed && status(t, tr, x).Status == api.TrackerStatusPinError, fmt.Sprint(ok, e.Failed)
	})
	b.Heal(x.Cid)
	if _, err := tr.RecoverAll(ctx5s(t)); err != nil {
		t.Fatal(err)
	}
	close(q.release)
	waitFor(t, "x pinned", func() (bool, string) {
		e, ok, _ := st.QueueGet(x.Cid)
		return b.Pinned(x.Cid) && !ok, fmt.Sprint("queued ", ok, " unpin ", e.Unpin, " len ", tr.QueueLen())
	})
}

// Across a restart of the tracker actor: its write in flight (an unpin put of X, which
// the window does not hold) still lands after the fresh instance's first page read began; the
// fresh instance knows nothing of it, takes X's older pin from the page, and the pin's
// settling deleted the unpin. The restart now waits for the old writer.
func TestRestartWithAnUnpinInFlight(t *testing.T) {
	hook := func(m any) {
		if _, ok := m.(crashNow); ok {
			panic("injected tracker fault")
		}
	}
	faultHook.Store(&hook)
	t.Cleanup(func() { faultHook.Store(nil) })
	cfg := testConfig()
	st := testQueue(t)
	x := testPin(t, "x")
	if _, err := st.WriteQueue([]persistence.QueueOp{{Kind: persistence.QueuePut, Entry: persistence.QueueEntry{Cid: x.Cid, Mode: x.Mode, Created: x.Timestamp}}}, 0); err != nil {
		t.Fatal(err)
	}
	q := newPagesQueue(st, putKey(x.Cid, true))
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	<-q.entered[0] // the first instance's page read waits (x not in the window)
	tr.system.Root.Send(tr.PID(), messages.UntrackPin{Cid: x.Cid})
	<-q.wEntered[putKey(x.Cid, true)] // in flight
	tr.system.Root.Send(tr.PID(), crashNow{})
	select {
	case <-q.entered[1]:
		// The fresh instance reads while the old write is in flight: let it read first.
		close(q.release[1])
		waitFor(t, "the fresh instance pinned x from its page", func() (bool, string) { return b.Pinned(x.Cid), "" })
		close(q.wRelease[putKey(x.Cid, true)])
	case <-time.After(300 * time.Millisecond): // the restart waits for the old writer
		close(q.wRelease[putKey(x.Cid, true)])
		<-q.entered[1]
		close(q.release[1])
	}
	close(q.release[0])
	waitFor(t, "queue drained", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	if e, ok, _ := st.QueueGet(x.Cid); b.Pinned(x.Cid) || ok {
		t.Fatalf("x pinned %v, queued %v (unpin %v): its last put was an unpin", b.Pinned(x.Cid), ok, e.Unpin)
	}
}
