package persistence

import (
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"
)

// CollectTombstones records the excluded members at the greatest clock it collected (before
// the tombstones go), and excludes nobody when it collects nothing.
func TestCollectTombstonesExcludesAtCollectedClock(t *testing.T) {
	s, _ := openTemp(t)
	a, silent := newPeer(t, 1), newPeer(t, 9)
	x, y := mkCid(t, 1), mkCid(t, 2)
	mustApply(t, s, pinOp(t, a, 1, 10, x, "x"), unpinOp(a, 2, 20, x),
		pinOp(t, a, 3, 30, y, "y"), unpinOp(a, 4, 40, y), pinOp(t, a, 5, 50, mkCid(t, 3), "z"))
	n, first, err := s.CollectTombstones(t.Context(), map[peer.ID]uint64{a: 1}, []peer.ID{silent}, nil)
	if err != nil || n != 0 || len(first) != 0 {
		t.Fatalf("nothing to drop: %d dropped, %v excluded, %v", n, first, err)
	}
	if ex, _ := s.Exclusions(); len(ex) != 0 {
		t.Fatalf("excluded without collecting: %v", ex)
	}
	n, first, err = s.CollectTombstones(t.Context(), map[peer.ID]uint64{a: 2}, []peer.ID{silent}, nil)
	if err != nil || n != 1 || len(first) != 1 || first[0] != silent {
		t.Fatalf("%d dropped, %v excluded, %v", n, first, err)
	}
	if ex, _ := s.Exclusions(); ex[silent] != 20 {
		t.Fatalf("excluded at %d, want the collected clock 20 (not the greatest seen, 50)", ex[silent])
	}
	n, first, err = s.CollectTombstones(t.Context(), map[peer.ID]uint64{a: 4}, []peer.ID{silent}, nil)
	if err != nil || n != 1 || len(first) != 0 {
		t.Fatalf("%d dropped, %v excluded again, %v", n, first, err)
	}
	if ex, _ := s.Exclusions(); ex[silent] != 40 {
		t.Fatalf("excluded at %d, want 40", ex[silent])
	}
}

// A tombstone keep names stays however stable (its CID's unpin is still to do here), whether
// the tombstone index is complete or being built, and goes in a later round.
func TestCollectTombstonesKeepsHeld(t *testing.T) {
	for _, indexed := range []bool{true, false} {
		s, _ := openTemp(t)
		a := newPeer(t, 1)
		x, y := mkCid(t, 1), mkCid(t, 2)
		mustApply(t, s, pinOp(t, a, 1, 10, x, "x"), unpinOp(a, 2, 20, x), pinOp(t, a, 3, 30, y, "y"), unpinOp(a, 4, 40, y))
		if !indexed {
			if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyTombIndexed) }); err != nil {
				t.Fatal(err)
			}
			s.tombsIndexed.Store(false)
		}
		keep := func(c []byte) bool { return string(c) == string(x.Bytes()) }
		n, _, err := s.CollectTombstones(t.Context(), map[peer.ID]uint64{a: 4}, nil, keep)
		if err != nil || n != 1 {
			t.Fatalf("indexed %v: %d dropped, %v; want y's tombstone only", indexed, n, err)
		}
		if rec, found, _ := s.Get(x); !found || !rec.Deleted {
			t.Fatalf("indexed %v: the held tombstone went", indexed)
		}
		if _, found, _ := s.Get(y); found {
			t.Fatalf("indexed %v: the other tombstone stayed", indexed)
		}
		if n, _, err := s.CollectTombstones(t.Context(), map[peer.ID]uint64{a: 4}, nil, nil); err != nil || n != 1 {
			t.Fatalf("indexed %v: next round dropped %d, %v; want the tombstone no longer held", indexed, n, err)
		}
	}
}
