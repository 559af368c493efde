package persistence

import (
	"slices"
	"testing"

	"github.com/pincluster/pincluster/crdt"
)

// TestApplyTellsCreatedRecords: Apply and ApplySnapshot say which ops made a CID's first
// record (crdt.Created; crdt.Unheld for a tombstone), which replaced one, a tombstone included
// (crdt.Replaced), and which changed nothing (crdt.Kept). The tracker counts on Created to
// skip a status digest reconcile, so an op over a tombstone must not read as Created.
func TestApplyTellsCreatedRecords(t *testing.T) {
	s, _ := openTemp(t)
	ps := sortedPeers(t, 2)
	a, b := ps[0], ps[1]
	x, y, z := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3)
	got, err := s.Apply([]crdt.Op{
		pinOp(t, a, 1, 10, x, "x"),    // first record of x
		pinOp(t, a, 2, 20, x, "x2"),   // replaces it
		unpinOp(a, 3, 30, y),          // a tombstone where y had nothing
		pinOp(t, a, 4, 5, x, "stale"), // older than x's record
		unpinOp(a, 3, 30, y),          // a duplicate
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []crdt.Effect{crdt.Created, crdt.Replaced, crdt.Unheld, crdt.Kept, crdt.Kept}; !slices.Equal(got, want) {
		t.Fatalf("Apply effects = %v, want %v", got, want)
	}
	if got, err := s.Apply([]crdt.Op{pinOp(t, b, 1, 40, y, "y")}); err != nil || got[0] != crdt.Replaced {
		t.Fatalf("a pin over y's tombstone: %v, %v; want Replaced", got, err)
	}
	got, err = s.ApplySnapshot([]Record{{Op: pinOp(t, b, 2, 50, z, "z")}, {Op: pinOp(t, b, 3, 60, x, "x3")}, {Op: pinOp(t, b, 4, 1, y, "old")}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []crdt.Effect{crdt.Created, crdt.Replaced, crdt.Kept}; !slices.Equal(got, want) {
		t.Fatalf("ApplySnapshot effects = %v, want %v", got, want)
	}
}
