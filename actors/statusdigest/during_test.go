package statusdigest

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// TestChangesBeyondABufferDuringReconcile: changes written during a reconcile do not take room
// in the change buffer: once a buffer's worth was written, later changes were dropped until
// the reconcile ended (reviewer's find).
func TestChangesBeyondABufferDuringReconcile(t *testing.T) {
	store := newMemStore()
	local := blockedPass{release: make(chan struct{})} // waits for the IPFS node
	t.Cleanup(func() { close(local.release) })
	system, pid := spawnDigests(t, store, local, nil)
	ok := api.PinInfoShort{Status: api.TrackerStatusPinned, TS: time.Now()}
	for i := 0; i < maxBuffered; i += 4096 {
		var chs []messages.StatusChange
		for j := i; j < i+4096; j++ {
			chs = append(chs, messages.StatusChange{Cid: cidOf(t, fmt.Sprint(j)), Info: ok})
		}
		system.Root.Send(pid, messages.TrackerStatusChanged{Changes: chs})
	}
	store.await(t, func() bool { store.mu.Lock(); defer store.mu.Unlock(); return len(store.own) == maxBuffered }, "first changes not written")
	y := cidOf(t, "y")
	failed := api.PinInfoShort{Status: api.TrackerStatusUnpinError, TS: time.Now(), Error: "ipfs is down"}
	system.Root.Send(pid, messages.TrackerStatusChanged{Changes: []messages.StatusChange{{Cid: y, Info: failed}}})
	store.await(t, func() bool { return store.status(y) == api.TrackerStatusUnpinError }, "a change after maxBuffered written ones was dropped while the reconcile waits")
}

// twoStepPass emits its pass up to a batch's worth, then waits for more before ending.
type twoStepPass struct {
	first, second chan struct{}
	pass          localPass
}

func (l twoStepPass) LocalDigest(ctx context.Context, fn func([]byte, api.PinInfoShort) error) error {
	<-l.first
	if err := l.pass.LocalDigest(ctx, fn); err != nil {
		return err
	}
	select { // rest of a long pass (10M pins)
	case <-l.second:
	case <-ctx.Done():
	}
	return ctx.Err()
}

// TestSettledUnpinNotWrittenBackByReconcile: an unpin that settled during a reconcile (its
// entry deleted by a delta) is not written back, nor published, by a batch of the reconcile's
// older pass (reviewer's find: it stayed until the reconcile ended).
func TestSettledUnpinNotWrittenBackByReconcile(t *testing.T) {
	x := cidOf(t, "x")
	unpinning := api.PinInfoShort{Status: api.TrackerStatusUnpinning, TS: time.Now().Add(-time.Minute)}
	store := newMemStore(sd.FromShort(x.Bytes(), unpinning))
	pass := localPass{{x.Bytes(), unpinning}}
	for i := 1; i < 4096; i++ { // fills one batch
		pass = append(pass, struct {
			cid []byte
			st  api.PinInfoShort
		}{cidOf(t, fmt.Sprint(i)).Bytes(), api.PinInfoShort{Status: api.TrackerStatusPinned, TS: time.Now()}})
	}
	local := twoStepPass{first: make(chan struct{}), second: make(chan struct{}), pass: pass}
	t.Cleanup(func() { close(local.second) })
	system, pid := spawnDigests(t, store, local, nil)
	settled := api.PinInfoShort{Status: api.TrackerStatusUnpinned, TS: time.Now()}
	system.Root.Send(pid, messages.TrackerStatusChanged{Changes: []messages.StatusChange{{Cid: x, Info: settled}}})
	store.await(t, func() bool { return store.status(x) == 0 }, "the settled unpin was not written")
	close(local.first)
	store.await(t, func() bool { return store.reconciles() > 0 }, "no reconcile batch")
	if st := store.status(x); st != 0 {
		t.Fatalf("while the reconcile goes on the own digest shows %s for a CID the tracker unpinned", st)
	}
}

// TestSettledUnpinNotWrittenBackRealStore: the same on the persistence store, whose own cursor
// reads pages live while the pass's statuses are a snapshot from its start.
func TestSettledUnpinNotWrittenBackRealStore(t *testing.T) {
	store, err := persistence.Open(persistence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	x := cidOf(t, "x")
	unpinning := api.PinInfoShort{Status: api.TrackerStatusUnpinning, TS: time.Now().Add(-time.Minute)}
	if _, err := store.WriteOwnDigest([]sd.Entry{sd.FromShort(x.Bytes(), unpinning)}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	pass := localPass{{x.Bytes(), unpinning}}
	for i := 1; i < 4096; i++ {
		pass = append(pass, struct {
			cid []byte
			st  api.PinInfoShort
		}{cidOf(t, fmt.Sprint(i)).Bytes(), api.PinInfoShort{Status: api.TrackerStatusPinned, TS: time.Now()}})
	}
	sort.Slice(pass, func(i, j int) bool { return bytes.Compare(pass[i].cid, pass[j].cid) < 0 })
	local := twoStepPass{first: make(chan struct{}), second: make(chan struct{}), pass: pass}
	t.Cleanup(func() { close(local.second) })
	system, pid := spawnDigests(t, store, local, nil)
	status := func() api.TrackerStatus {
		var st api.TrackerStatus
		_ = store.OwnDigestEach(context.Background(), func(e sd.Entry) error {
			if bytes.Equal(e.Cid, x.Bytes()) {
				st = e.Status
			}
			return nil
		})
		return st
	}
	count := func() int {
		n := 0
		_ = store.OwnDigestEach(context.Background(), func(sd.Entry) error { n++; return nil })
		return n
	}
	settled := api.PinInfoShort{Status: api.TrackerStatusUnpinned, TS: time.Now()}
	system.Root.Send(pid, messages.TrackerStatusChanged{Changes: []messages.StatusChange{{Cid: x, Info: settled}}})
	for deadline := time.Now().Add(5 * time.Second); status() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("unpin not written")
		}
	}
	close(local.first)
	for deadline := time.Now().Add(5 * time.Second); count() < 4095; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("reconcile batch not written")
		}
	}
	if st := status(); st != 0 {
		t.Fatalf("mid-reconcile the own digest shows %s for a CID the tracker already unpinned (%d entries)", st, count())
	}
}
