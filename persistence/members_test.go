package persistence

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// TestSnapshotCannotResurrectCollectedTombstone: a stale peer's snapshot still holds a pin whose
// unpin this peer applied and then collected. Merging it must not bring the pin back, while a
// record this peer has not seen still merges.
func TestSnapshotCannotResurrectCollectedTombstone(t *testing.T) {
	s, _ := openTemp(t)
	ps := sortedPeers(t, 2)
	a, b := ps[0], ps[1]
	x, y := mkCid(t, 1), mkCid(t, 2)
	mustApply(t, s, pinOp(t, a, 1, 10, x, "x"), unpinOp(a, 2, 20, x))
	if n, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{a: 2}); err != nil || n != 1 {
		t.Fatalf("DropTombstones = %d, %v; want 1 dropped", n, err)
	}
	changed, err := s.ApplySnapshot([]Record{{Op: pinOp(t, a, 1, 10, x, "x")}, {Op: pinOp(t, b, 1, 5, y, "y")}})
	if err != nil {
		t.Fatal(err)
	}
	if changed[0] || !changed[1] {
		t.Fatalf("changed = %v, want [false true]", changed)
	}
	if _, found, _ := s.Get(x); found {
		t.Fatal("the collected unpin of x was undone by a stale snapshot")
	}
	if n, _ := s.CountPins(); n != 1 {
		t.Fatalf("live pins = %d, want 1 (y)", n)
	}
}

func TestMembers(t *testing.T) {
	s, _ := openTemp(t)
	ps := sortedPeers(t, 2)
	t0 := time.Unix(1000, 0)
	for _, step := range []struct {
		id peer.ID
		at time.Time
	}{{ps[0], t0}, {ps[1], t0.Add(time.Minute)}, {ps[0], t0.Add(time.Hour)}, {ps[0], t0}} {
		if err := s.TouchMember(step.id, step.at); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.Members()
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || !m[ps[0]].Equal(t0.Add(time.Hour)) || !m[ps[1]].Equal(t0.Add(time.Minute)) {
		t.Fatalf("members = %v; the last-heard time must never move back", m)
	}
	if err := s.RemoveMember(ps[0]); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Members(); len(m) != 1 || m[ps[1]].IsZero() {
		t.Fatalf("after remove: %v", m)
	}
}

// TestCollectedClockAndUnseen: collecting raises the watermark to the greatest dropped
// tombstone's clock; Unseen lists the live records a snapshot's sender never saw that are not
// after it, and nothing else.
func TestCollectedClockAndUnseen(t *testing.T) {
	s, _ := openTemp(t)
	ps := sortedPeers(t, 2)
	a, b := ps[0], ps[1]
	x, y, z, w := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3), mkCid(t, 4)
	mustApply(t, s, pinOp(t, a, 1, 10, x, "x"), unpinOp(a, 2, 50, x))
	if _, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{a: 2}); err != nil {
		t.Fatal(err)
	}
	if wm, err := s.CollectedClock(); err != nil || wm != 50 {
		t.Fatalf("watermark = %d, %v; want 50", wm, err)
	}
	// b's ops: y at 40 (raced the collection), z at 60 (after it), w at 30 but seen by the
	// sender (seq 1 <= vv[b] = 1).
	mustApply(t, s, pinOp(t, b, 1, 30, w, "w"), pinOp(t, b, 2, 40, y, "y"), pinOp(t, b, 3, 60, z, "z"))
	got, err := s.Unseen(t.Context(), api.CidUndef, api.CidUndef, nil, map[peer.ID]uint64{a: 2, b: 1}, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Op.Cid.String() != y.String() {
		t.Fatalf("Unseen = %+v, want only y", got)
	}
	if got, _ := s.Unseen(t.Context(), api.CidUndef, api.CidUndef, []api.Cid{y}, map[peer.ID]uint64{a: 2, b: 1}, 50); len(got) != 0 {
		t.Fatalf("a record the snapshot holds is not unseen: %+v", got)
	}
}
