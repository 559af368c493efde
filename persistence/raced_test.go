package persistence

import (
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// racedCids lists what RacedPins hands over.
func racedCids(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	err := s.RacedPins(t.Context(), func(ops []crdt.Op) {
		for _, op := range ops {
			out = append(out, op.Cid.String())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// The marks name exactly the pins that raced a collection (by op or snapshot), survive a
// restart, and go once their record has moved on. A pin of the member applied before it was
// excluded is not one of them.
func TestRacedPinsMarks(t *testing.T) {
	s, dir := openTemp(t)
	ps := sortedPeers(t, 2)
	a, b := ps[0], ps[1]
	x, y, z, old := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3), mkCid(t, 4)
	mustApply(t, s, pinOp(t, b, 1, 5, old, "old"), pinOp(t, a, 1, 10, x, "x"), unpinOp(a, 2, 50, x))
	if _, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{a: 2, b: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.ExcludeMember(b, 50); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, pinOp(t, b, 2, 40, x, "x-b"), pinOp(t, b, 3, 60, y, "y"))
	if _, err := s.ApplySnapshot([]Record{{Op: pinOp(t, b, 7, 30, z, "z")}}); err != nil {
		t.Fatal(err)
	}
	want := []string{x.String(), z.String()}
	slices.Sort(want)
	if got := racedCids(t, s); !slices.Equal(got, want) {
		t.Fatalf("raced pins %v, want %v (x and z)", got, want)
	}
	s = reopen(t, s, dir)
	if got := racedCids(t, s); !slices.Equal(got, want) {
		t.Fatalf("after a restart, raced pins %v, want %v", got, want)
	}
	mustApply(t, s, unpinOp(a, 3, 70, x), pinOp(t, a, 4, 80, z, "z-a"))
	if got := racedCids(t, s); len(got) != 0 {
		t.Fatalf("raced pins %v after both records moved on, want none", got)
	}
	n := 0
	if err := s.db.View(func(txn *badger.Txn) error {
		return iterateTxn(t.Context(), txn, prefixRaced, prefixRaced, func(_, _ []byte) error { n++; return nil })
	}); err != nil || n != 0 {
		t.Fatalf("%d marks left (%v), want the stale ones dropped", n, err)
	}
}
