package persistence

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
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
	if changed[0].Won() || !changed[1].Won() {
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
	if err := s.RemoveMember(ps[0], 7); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ps[0], 3); err != nil { // the cutoff never moves down
		t.Fatal(err)
	}
	if m, _ := s.Members(); len(m) != 1 || m[ps[1]].IsZero() {
		t.Fatalf("after remove: %v", m)
	}
	if r, _ := s.Removed(); len(r) != 1 || r[ps[0]] != 7 {
		t.Fatalf("removed = %v, want the removed member with cutoff 7", r)
	}
}

// TestCollectedClockAndExclusions: collecting raises the watermark to the greatest dropped
// tombstone's clock; once a member is excluded at a watermark, its pins not after it that land
// on a CID without a record (by op or by snapshot) are reported as raced, and nothing else is.
func TestCollectedClockAndExclusions(t *testing.T) {
	s, _ := openTemp(t)
	ps := sortedPeers(t, 2)
	a, b := ps[0], ps[1]
	x, y, z, w := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3), mkCid(t, 4)
	mustApply(t, s, pinOp(t, a, 1, 10, x, "x"), unpinOp(a, 2, 50, x), pinOp(t, a, 3, 20, w, "w"))
	if _, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{a: 2}); err != nil {
		t.Fatal(err)
	}
	wm, err := s.CollectedClock()
	if err != nil || wm != 50 {
		t.Fatalf("watermark = %d, %v; want 50", wm, err)
	}
	var raced []string
	s.SetRacedHandler(func(ops []crdt.Op) {
		for _, op := range ops {
			raced = append(raced, op.Cid.String())
		}
	})
	if err := s.ExcludeMember(b, wm); err != nil {
		t.Fatal(err)
	}
	// b's pins: x at 40 (raced the collected unpin), y at 60 (after it), w at 45 (w still has a
	// record here: plain last-writer-wins).
	mustApply(t, s, pinOp(t, b, 1, 40, x, "x-b"), pinOp(t, b, 2, 60, y, "y"), pinOp(t, b, 3, 45, w, "w-b"))
	if len(raced) != 1 || raced[0] != x.String() {
		t.Fatalf("raced = %v, want only x", raced)
	}
	raced = nil
	if _, err := s.ApplySnapshot([]Record{{Op: pinOp(t, b, 7, 30, z, "z")}}); err != nil {
		t.Fatal(err)
	}
	if len(raced) != 1 || raced[0] != z.String() {
		t.Fatalf("raced by snapshot = %v, want z", raced)
	}
	if ex, _ := s.Exclusions(); ex[b] != 50 {
		t.Fatalf("exclusions = %v", ex)
	}
	if err := s.RemoveMember(b, 3); err != nil {
		t.Fatal(err)
	}
	if ex, _ := s.Exclusions(); len(ex) != 0 {
		t.Fatalf("exclusions after peers rm = %v", ex)
	}
}
