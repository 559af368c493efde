package persistence

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// A tombstone is unheld when it arrives over no record, and stays so under later tombstones;
// one over a live record is held, and so are the tombstones after it. Get, ApplySnapshot and
// PruneAbsent tell it.
func TestUnheldTombstones(t *testing.T) {
	s, _ := openTemp(t)
	ps := sortedPeers(t, 2)
	a, b := ps[0], ps[1]
	never, held, again := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3)
	apply := func(op crdt.Op, want crdt.Effect) {
		t.Helper()
		got, err := s.Apply([]crdt.Op{op})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != want {
			t.Fatalf("op %d of kind %d on %s: effect %v, want %v", op.Seq, op.Kind, op.Cid, got[0], want)
		}
	}
	unheld := func(c api.Cid, want bool) {
		t.Helper()
		rec, found, err := s.Get(c)
		if err != nil || !found || !rec.Deleted || rec.Unheld != want {
			t.Fatalf("Get(%s) = %+v, %v, %v; want a tombstone with Unheld %v", c, rec, found, err, want)
		}
	}
	apply(unpinOp(a, 1, 10, never), crdt.Unheld)
	apply(unpinOp(b, 1, 20, never), crdt.Unheld) // over an unheld tombstone
	unheld(never, true)

	apply(pinOp(t, a, 2, 30, held, "held"), crdt.Created)
	apply(unpinOp(a, 3, 40, held), crdt.Replaced)
	apply(unpinOp(b, 2, 50, held), crdt.Replaced) // over a held tombstone
	unheld(held, false)

	apply(unpinOp(a, 4, 60, again), crdt.Unheld)
	apply(pinOp(t, b, 3, 70, again, "again"), crdt.Replaced) // live here now
	apply(unpinOp(a, 5, 80, again), crdt.Replaced)
	unheld(again, false)

	// A snapshot's tombstone over no record is unheld as an op's is.
	fresh := mkCid(t, 4)
	got, err := s.ApplySnapshot([]Record{{Op: unpinOp(b, 9, 90, fresh), Deleted: true}})
	if err != nil || got[0] != crdt.Unheld {
		t.Fatalf("ApplySnapshot = %v, %v; want Unheld", got, err)
	}
	unheld(fresh, true)

	// A snapshot without them prunes them, telling which were unheld.
	removed, err := s.PruneAbsent(context.Background(), api.Cid{}, api.Cid{}, nil, map[peer.ID]uint64{a: 100, b: 100})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{never.KeyString(): true, held.KeyString(): false, again.KeyString(): false, fresh.KeyString(): true}
	if len(removed) != len(want) {
		t.Fatalf("pruned %d records, want %d", len(removed), len(want))
	}
	for _, r := range removed {
		if w, ok := want[r.Op.Cid.KeyString()]; !ok || r.Unheld != w {
			t.Fatalf("pruned %s with Unheld %v, want %v", r.Op.Cid, r.Unheld, w)
		}
	}
}

// TestIndexCompletionKeepsUnheldMark: the round that completes the tombstone index (after
// LoadBackup) writes the keys it lacks, and leaves an unheld mark as it is (it wrote an empty
// value over it: the tombstone read as held again; a reviewer's find).
func TestIndexCompletionKeepsUnheldMark(t *testing.T) {
	src, _ := openTemp(t)
	a := newPeer(t, 1)
	c := mkCid(t, 1)
	mustApply(t, src, unpinOp(a, 1, 10, c))
	if rec, _, _ := src.Get(c); !rec.Unheld {
		t.Fatal("setup: not unheld")
	}
	dst := filepath.Join(t.TempDir(), "pinset.bak")
	if err := src.Backup(dst); err != nil {
		t.Fatal(err)
	}
	r, _ := openTemp(t)
	if err := r.LoadBackup(dst); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := r.Get(c); !rec.Unheld {
		t.Fatal("the backup lost the mark")
	}
	if _, err := r.DropTombstones(t.Context(), map[peer.ID]uint64{}); err != nil { // keeps it
		t.Fatal(err)
	}
	if rec, found, _ := r.Get(c); !found || !rec.Unheld {
		t.Fatalf("after the index-completing round: found %v, Unheld %v; want the unheld mark kept", found, rec.Unheld)
	}
}
