package syncer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/passgate"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

func TestPullOps(t *testing.T) {
	for _, page := range []int{DefaultPageSize, 3} {
		a, b := newSide(t, 1, page), newSide(t, 2, page)
		connect(b, a)
		o1, o2 := newPeer(t, 10), newPeer(t, 11)
		mustApply(t, a, history(t, o1, 1, 12, 0))
		mustApply(t, a, history(t, o2, 1, 9, 100))
		mustApply(t, b, history(t, o1, 1, 4, 0)) // b has a prefix already
		n, err := b.syncer.Pull(t.Context(), a.id)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("nothing pulled")
		}
		assertSame(t, a, b)
		if page == 3 && b.link.requests.Load() < 4 {
			t.Fatalf("page size 3: %d requests", b.link.requests.Load())
		}
		seen := mustSeen(t, b)[a.id]
		if seen.At.IsZero() || seen.VV[o1] == 0 || seen.VV[o2] == 0 {
			t.Fatalf("responder's version vector not recorded: %+v", seen)
		}
		// Caught up: one more pull moves nothing.
		before := b.link.requests.Load()
		if n, err := b.syncer.Pull(t.Context(), a.id); err != nil || n != 0 {
			t.Fatalf("second pull: %d %v", n, err)
		}
		if got := b.link.requests.Load() - before; got != 1 {
			t.Fatalf("a caught-up pull took %d requests", got)
		}
	}
}

// A fresh peer joins after the responder collected tombstones and trimmed its op log: it is
// served a snapshot, then the ops after it.
func TestPullSnapshotAfterTrim(t *testing.T) {
	for _, page := range []int{DefaultPageSize, 4} {
		a, b := newSide(t, 1, page), newSide(t, 2, page)
		connect(b, a)
		o1, o2 := newPeer(t, 10), newPeer(t, 11)
		mustApply(t, a, history(t, o1, 1, 15, 0))
		mustApply(t, a, history(t, o2, 1, 6, 100))
		vv, _ := a.store.VersionVector()
		// Everyone saw o1 up to 12 and o2 entirely.
		dropped, err := a.store.DropTombstones(t.Context(), map[peer.ID]uint64{o1: 12, o2: vv[o2]})
		if err != nil || dropped == 0 {
			t.Fatalf("dropped %d %v", dropped, err)
		}
		if err := a.store.OpsFrom(t.Context(), o1, 1, func(crdt.Op) error { return nil }); !errors.Is(err, persistence.ErrTrimmed) {
			t.Fatalf("responder log not trimmed: %v", err)
		}
		// Changes after the collection, some of them on CIDs that had tombstones.
		mustApply(t, a, []crdt.Op{pinOp(t, o1, vv[o1]+1, mkCid(t, 1), "back"), unpinOp(o1, vv[o1]+2, mkCid(t, 3))})

		n, err := b.syncer.Pull(t.Context(), a.id)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("nothing pulled")
		}
		assertSame(t, a, b)
		if tr, _ := b.store.TrimmedTo(o1); tr < 12 {
			t.Fatalf("receiver's log not marked trimmed up to the snapshot: %d", tr)
		}
		b.settle(t)
		b.mu.Lock()
		notified := len(b.notified)
		b.mu.Unlock()
		if notified == 0 {
			t.Fatal("snapshot changes were not notified")
		}
		if page == 4 && b.link.requests.Load() < 5 {
			t.Fatalf("page size 4: only %d requests", b.link.requests.Load())
		}
		// The receiver can now serve a third peer (from its own snapshot).
		c := newSide(t, 3, page)
		connect(c, b)
		if _, err := c.syncer.Pull(t.Context(), b.id); err != nil {
			t.Fatal(err)
		}
		assertSame(t, a, c)
	}
}

// A peer that was offline while a pin was unpinned and its tombstone collected must lose the
// pin when it catches up from a snapshot (no resurrection).
func TestPullSnapshotPrunesCollectedPins(t *testing.T) {
	a, b := newSide(t, 1, 3), newSide(t, 2, 3)
	connect(b, a)
	o1 := newPeer(t, 10)
	mustApply(t, a, history(t, o1, 1, 10, 0))
	if _, err := b.syncer.Pull(t.Context(), a.id); err != nil {
		t.Fatal(err)
	}
	assertSame(t, a, b)
	// b goes offline; a unpins two pins b holds, and collects every tombstone.
	vv, _ := a.store.VersionVector()
	gone1, gone2 := mkCid(t, 0), mkCid(t, 9)
	mustApply(t, a, []crdt.Op{unpinOp(o1, vv[o1]+1, gone1), unpinOp(o1, vv[o1]+2, gone2), pinOp(t, o1, vv[o1]+3, mkCid(t, 50), "new")})
	vv, _ = a.store.VersionVector()
	if _, err := a.store.DropTombstones(t.Context(), vv); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := a.store.Get(gone1); found {
		t.Fatal("tombstone kept")
	}
	if _, ok, _ := b.store.GetPin(gone1); !ok {
		t.Fatal("setup: b should hold the pin")
	}
	if _, err := b.syncer.Pull(t.Context(), a.id); err != nil {
		t.Fatal(err)
	}
	assertSame(t, a, b)
	b.settle(t)
	b.mu.Lock()
	defer b.mu.Unlock()
	unpinned := map[string]bool{}
	for _, op := range b.notified {
		if op.Kind == crdt.OpUnpin {
			unpinned[op.Cid.String()] = true
		}
	}
	if !unpinned[gone1.String()] || !unpinned[gone2.String()] {
		t.Fatalf("pruned pins were not notified as unpins: %v", unpinned)
	}
}

func TestAnswerRejectsBadCursor(t *testing.T) {
	a := newSide(t, 1, 10)
	resp := answer(context.Background(), a.store, &messages.SyncRequest{Cursor: "not-a-cid"}, "", snapshotMinOps)
	if resp.Error == "" {
		t.Fatal("bad cursor accepted")
	}
}

func TestMinVV(t *testing.T) {
	p, q := newPeer(t, 1), newPeer(t, 2)
	cases := []struct {
		name    string
		acc, vv map[peer.ID]uint64
		want    map[peer.ID]uint64
	}{
		{"nil acc copies", nil, map[peer.ID]uint64{p: 3}, map[peer.ID]uint64{p: 3}},
		{"pointwise", map[peer.ID]uint64{p: 3, q: 5}, map[peer.ID]uint64{p: 4, q: 2}, map[peer.ID]uint64{p: 3, q: 2}},
		{"missing is zero", map[peer.ID]uint64{p: 3, q: 5}, map[peer.ID]uint64{p: 4}, map[peer.ID]uint64{p: 3}},
		{"extra ignored", map[peer.ID]uint64{p: 3}, map[peer.ID]uint64{p: 4, q: 9}, map[peer.ID]uint64{p: 3}},
	}
	for _, tc := range cases {
		got := minVV(tc.acc, tc.vv)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %v want %v", tc.name, got, tc.want)
		}
		for o, n := range tc.want {
			if got[o] != n {
				t.Fatalf("%s: %v want %v", tc.name, got, tc.want)
			}
		}
	}
}

// Records of an untrusted origin are not applied, and the snapshot still settles: the next
// pull moves nothing and loads no snapshot again.
func TestPullSnapshotUntrustedOrigin(t *testing.T) {
	o1, bad := newPeer(t, 10), newPeer(t, 11)
	a := newSide(t, 1, 4)
	b := newSideTrusting(t, 2, 4, func(id peer.ID) bool { return id != bad })
	connect(b, a)
	mustApply(t, a, history(t, o1, 1, 6, 0))
	mustApply(t, a, history(t, bad, 1, 6, 100))
	vv, _ := a.store.VersionVector()
	if _, err := a.store.DropTombstones(t.Context(), vv); err != nil {
		t.Fatal(err)
	}
	if _, err := b.syncer.Pull(t.Context(), a.id); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.store.GetPin(mkCid(t, 100)); ok {
		t.Fatal("record of an untrusted origin applied")
	}
	if _, ok, _ := b.store.GetPin(mkCid(t, 0)); !ok {
		t.Fatal("record of a trusted origin missing")
	}
	before := b.link.requests.Load()
	if n, err := b.syncer.Pull(t.Context(), a.id); err != nil || n != 0 {
		t.Fatalf("second pull: %d %v", n, err)
	}
	if got := b.link.requests.Load() - before; got != 1 {
		t.Fatalf("second pull took %d requests (a snapshot again?)", got)
	}
}

// A fresh requester that lacks at least snapshotMin ops is served a snapshot although nothing
// was trimmed, page by page with prefetching; one that holds some ops gets ops. Either way
// both sides end equal, and the snapshot's receiver can serve others.
func TestPullFarBehindGetsSnapshot(t *testing.T) {
	all := func(peer.ID) bool { return true }
	for _, page := range []int{DefaultPageSize, 4} {
		a := newSideTrusting(t, 1, page, all, WithSnapshotMin(10))
		o1, o2 := newPeer(t, 10), newPeer(t, 11)
		mustApply(t, a, history(t, o1, 1, 30, 0))
		mustApply(t, a, history(t, o2, 1, 12, 100))

		fresh := newSideTrusting(t, 2, page, all, WithSnapshotMin(10))
		connect(fresh, a)
		if _, err := fresh.syncer.Pull(t.Context(), a.id); err != nil {
			t.Fatal(err)
		}
		assertSame(t, a, fresh)
		if fresh.link.snapshots.Load() == 0 {
			t.Fatalf("page %d: a fresh peer was sent ops, not a snapshot", page)
		}
		if page == 4 && fresh.link.requests.Load() < 6 {
			t.Fatalf("page 4: only %d requests", fresh.link.requests.Load())
		}
		if tr, _ := fresh.store.TrimmedTo(o1); tr == 0 {
			t.Fatal("the snapshot's receiver does not mark its log as starting after it")
		}

		// Not fresh: ops, and the log stays whole.
		near := newSideTrusting(t, 3, page, all, WithSnapshotMin(10))
		connect(near, a)
		ops := history(t, o1, 1, 30, 0)
		mustApply(t, near, ops[:5]) // lacks 35 ops, more than snapshotMin, but is not fresh
		mustApply(t, near, history(t, o2, 1, 12, 100))
		if _, err := near.syncer.Pull(t.Context(), a.id); err != nil {
			t.Fatal(err)
		}
		assertSame(t, a, near)
		if n := near.link.snapshots.Load(); n != 0 {
			t.Fatalf("a peer that is not fresh was sent %d snapshot pages", n)
		}
		if tr, _ := near.store.TrimmedTo(o1); tr != 0 {
			t.Fatalf("ops pull marked the log trimmed to %d", tr)
		}

		// A third peer catches up from the snapshot's receiver.
		third := newSideTrusting(t, 4, page, all, WithSnapshotMin(10))
		connect(third, fresh)
		if _, err := third.syncer.Pull(t.Context(), fresh.id); err != nil {
			t.Fatal(err)
		}
		assertSame(t, a, third)
	}
}

func TestFarBehind(t *testing.T) {
	o1, o2 := newPeer(t, 10), newPeer(t, 11)
	ours := map[peer.ID]uint64{o1: 40, o2: 5}
	for _, tc := range []struct {
		theirs map[string]uint64
		min    uint64
		want   bool
	}{
		{nil, 10, true},  // fresh: 45 missing
		{nil, 46, false}, // under the floor
		{map[string]uint64{newPeer(t, 12).String(): 9}, 10, true},      // only ops of origins we do not have
		{map[string]uint64{o2.String(): 1}, 10, false},                 // behind, not fresh: ops
		{map[string]uint64{o1.String(): 99, o2.String(): 5}, 1, false}, // ahead of us
	} {
		if got := farBehind(ours, tc.theirs, tc.min); got != tc.want {
			t.Errorf("farBehind(%v, min %d) = %v, want %v", tc.theirs, tc.min, got, tc.want)
		}
	}
}

// A snapshot interrupted by a failed request is resumed by the next pull from the same peer
// after its last installed page, not started over.
func TestPullResumesInterruptedSnapshot(t *testing.T) {
	all := func(peer.ID) bool { return true }
	a := newSideTrusting(t, 1, 4, all, WithSnapshotMin(10))
	o1 := newPeer(t, 10)
	mustApply(t, a, history(t, o1, 1, 60, 0)) // 40 live pins: 10 pages of 4
	b := newSideTrusting(t, 2, 4, all, WithSnapshotMin(10))
	connect(b, a)
	b.link.failAt.Store(6) // the 6th page
	n, err := b.syncer.Pull(t.Context(), a.id)
	if err == nil || n == 0 {
		t.Fatalf("first pull: %d records, %v; want some records and the dropped request's error", n, err)
	}
	if vv, _ := b.store.VersionVector(); vv[o1] != 0 {
		t.Fatalf("an interrupted snapshot raised the version vector to %d", vv[o1])
	}
	pullResumes(t, a, b, "the second pull")
	// Done: a third pull neither resumes nor snapshots again.
	snaps := b.link.snapshots.Load()
	if _, err := b.syncer.Pull(t.Context(), a.id); err != nil || b.link.snapshots.Load() != snaps {
		t.Fatalf("third pull: %v, %d more snapshot pages", err, b.link.snapshots.Load()-snaps)
	}
}

// A requester whose version vector is empty but that holds ops above a gap (it missed the
// first gossip batch of an ingest and received the rest) is not fresh: it is sent ops.
func TestAnswerHeldOpsAreNotFresh(t *testing.T) {
	a := newSide(t, 1, DefaultPageSize)
	o := newPeer(t, 10)
	mustApply(t, a, history(t, o, 1, 30, 0))
	held := []messages.SeqRange{{Origin: o.String(), From: 5, To: 40}}
	if resp := answer(context.Background(), a.store, &messages.SyncRequest{Limit: DefaultPageSize, Held: held}, "", 10); resp.Snapshot || resp.Error != "" {
		t.Fatalf("a requester holding ops got snapshot=%v err=%q", resp.Snapshot, resp.Error)
	}
	if resp := answer(context.Background(), a.store, &messages.SyncRequest{Limit: DefaultPageSize}, "", 10); !resp.Snapshot {
		t.Fatal("a fresh requester got ops")
	}
}

// A snapshot load takes its turn at the gate for bulk transfers (WithTransfers): while another
// transfer holds it (a digest pull), nothing of the snapshot is installed; once it is left,
// the load goes on and completes.
func TestSnapshotLoadWaitsForTheGate(t *testing.T) {
	gate := passgate.New()
	a := newSide(t, 1, 4)
	b := newSideTrusting(t, 2, 4, func(peer.ID) bool { return true }, WithTransfers(gate))
	connect(b, a)
	o := newPeer(t, 10)
	mustApply(t, a, history(t, o, 1, 10, 0))
	vv, _ := a.store.VersionVector()
	if _, err := a.store.DropTombstones(t.Context(), vv); err != nil {
		t.Fatal(err)
	}
	leave, err := gate.Enter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := b.syncer.Pull(t.Context(), a.id)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the pull ended while the gate was held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if n, _ := b.store.CountPins(); n != 0 {
		t.Fatalf("%d pins installed while the gate was held", n)
	}
	leave()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the pull did not go on once the gate was left")
	}
	assertSame(t, a, b)
}

// An interrupted snapshot whose resuming pull gives up waiting at the transfers gate keeps its
// place: the pull after that still resumes, not from the first page.
func TestResumeSurvivesAWaitAtTheGate(t *testing.T) {
	all := func(peer.ID) bool { return true }
	gate := passgate.New()
	a := newSideTrusting(t, 1, 4, all, WithSnapshotMin(10))
	o1 := newPeer(t, 10)
	mustApply(t, a, history(t, o1, 1, 60, 0)) // 40 live pins: 10 pages of 4
	b := newSideTrusting(t, 2, 4, all, WithSnapshotMin(10), WithTransfers(gate))
	connect(b, a)
	b.link.failAt.Store(6)
	if _, err := b.syncer.Pull(t.Context(), a.id); err == nil {
		t.Fatal("the first pull did not fail")
	}
	leave, err := gate.Enter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.syncer.Pull(ctx, a.id); err == nil {
		t.Fatal("a pull ended while the gate was held")
	}
	leave()
	pullResumes(t, a, b, "the pull after a wait in vain")
}

// pullResumes pulls b from a and checks it catches up by resuming an interrupted snapshot:
// its first request carries a cursor (it does not start over from the first page).
func pullResumes(t *testing.T, a, b *side, which string) {
	t.Helper()
	b.link.mu.Lock()
	before := len(b.link.cursors)
	b.link.mu.Unlock()
	if _, err := b.syncer.Pull(t.Context(), a.id); err != nil {
		t.Fatal(err)
	}
	assertSame(t, a, b)
	b.link.mu.Lock()
	first := b.link.cursors[before]
	b.link.mu.Unlock()
	if first == "" {
		t.Fatalf("%s started the snapshot over", which)
	}
}
