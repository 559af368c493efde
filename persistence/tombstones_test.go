package persistence

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// tombIndex lists the CIDs of the tombstone index and those of the tombstone records.
func tombIndex(t *testing.T, s *Store) (indexed, tombs [][]byte) {
	t.Helper()
	err := s.db.View(func(txn *badger.Txn) error {
		if err := iterateTxn(t.Context(), txn, prefixTombIdx, prefixTombIdx, func(k, _ []byte) error {
			indexed = append(indexed, bytes.Clone(k[len(prefixTombIdx):]))
			return nil
		}); err != nil {
			return err
		}
		return iterateTxn(t.Context(), txn, prefixPin, prefixPin, func(k, v []byte) error {
			if v[0] == kindTombstone {
				tombs = append(tombs, bytes.Clone(k[len(prefixPin):]))
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return indexed, tombs
}

// checkTombIndex fails unless the index lists exactly the tombstones, want of them.
func checkTombIndex(t *testing.T, s *Store, step string, want int) {
	t.Helper()
	indexed, tombs := tombIndex(t, s)
	if !slices.EqualFunc(indexed, tombs, bytes.Equal) || len(tombs) != want {
		t.Fatalf("%s: index lists %d CIDs, the records hold %d tombstones (want %d), or they differ", step, len(indexed), len(tombs), want)
	}
}

// The index follows every writer of records: unpins, pins over tombstones, snapshot pages, the
// prune of a snapshot's range, a removed peer's records and collection.
func TestTombstoneIndexFollowsTheRecords(t *testing.T) {
	s, _ := openTemp(t)
	ps := sortedPeers(t, 2)
	p, q := ps[0], ps[1]
	c := func(i int) api.Cid { return mkCid(t, i) }
	mustApply(t, s, pinOp(t, p, 1, 1, c(1), ""), unpinOp(p, 2, 2, c(1)), unpinOp(p, 3, 3, c(2)), pinOp(t, p, 4, 4, c(3), ""))
	checkTombIndex(t, s, "unpins", 2)
	mustApply(t, s, pinOp(t, p, 5, 5, c(2), "back"), unpinOp(p, 6, 6, c(1)))
	checkTombIndex(t, s, "a pin over a tombstone, an unpin over one", 1)
	if _, err := s.ApplySnapshot([]Record{{Op: unpinOp(q, 1, 7, c(4)), Deleted: true}, {Op: unpinOp(q, 2, 8, c(3)), Deleted: true}}); err != nil {
		t.Fatal(err)
	}
	checkTombIndex(t, s, "a snapshot's tombstones", 3)
	// q's records (the tombstones of 3 and 4) go with q.
	if removed, err := s.DropAfterCutoff(t.Context(), q, 0); err != nil || len(removed) != 2 {
		t.Fatalf("removed %d records of q (%v), want 2", len(removed), err)
	}
	checkTombIndex(t, s, "a removed peer's records", 1)
	// A snapshot range without cid 1, whose tombstone its sender had seen: pruned.
	if _, err := s.PruneAbsent(t.Context(), api.Cid{}, api.Cid{}, []api.Cid{c(2)}, map[peer.ID]uint64{p: 6}); err != nil {
		t.Fatal(err)
	}
	checkTombIndex(t, s, "a pruned range", 0)
	mustApply(t, s, unpinOp(p, 7, 9, c(2)), unpinOp(p, 8, 10, c(5)))
	if n, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{p: 7}); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v), want 1", n, err)
	}
	checkTombIndex(t, s, "collection", 1)
}

// A round reads the tombstones alone: a record the index does not name is not read, even one
// that would fail a read of every record.
func TestCollectionReadsOnlyTombstones(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	mustApply(t, s, pinOp(t, p, 1, 1, mkCid(t, 1), ""), unpinOp(p, 2, 2, mkCid(t, 1)), pinOp(t, p, 3, 3, mkCid(t, 2), ""))
	corrupt := []byte{kindTombstone, 0xff} // a tombstone's kind, then no valid header
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(pinKey(mkCid(t, 2)), corrupt) }); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{p: 3}); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v), want the indexed tombstone", n, err)
	}
	s.tombsIndexed.Store(false) // the same round over every record reads the corrupt one
	if _, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{p: 3}); err == nil {
		t.Fatal("a round over every record did not read the corrupt record")
	}
}

// A store without a complete index (made before it, or loaded from a backup) has its records
// read by its next round, which collects what it may, indexes the tombstones it leaves and
// marks the index complete; a round cut short marks nothing.
func TestCollectionCompletesTheIndex(t *testing.T) {
	s, dir := openTemp(t)
	p := newPeer(t, 1)
	mustApply(t, s, pinOp(t, p, 1, 1, mkCid(t, 1), ""), unpinOp(p, 2, 2, mkCid(t, 1)), unpinOp(p, 3, 3, mkCid(t, 2)), pinOp(t, p, 4, 4, mkCid(t, 3), ""))
	// A store of a version before the index: no mark, no index keys.
	if err := s.db.DropPrefix(prefixTombIdx); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyTombIndexed) }); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir)
	if s.tombsIndexed.Load() {
		t.Fatal("a store without the mark reads as indexed")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.DropTombstones(ctx, map[peer.ID]uint64{p: 2}); err == nil || s.tombsIndexed.Load() {
		t.Fatalf("a cancelled round: %v, indexed %v", err, s.tombsIndexed.Load())
	}
	if n, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{p: 2}); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v), want 1", n, err)
	}
	if !s.tombsIndexed.Load() {
		t.Fatal("a whole round did not mark the index complete")
	}
	checkTombIndex(t, s, "after the round", 1)
	if s = reopen(t, s, dir); !s.tombsIndexed.Load() {
		t.Fatal("the mark did not last")
	}
	if n, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{p: 4}); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v), want the tombstone left by the first round", n, err)
	}

	// A backup's tombstones are collected after it is loaded, whatever the backup's mark.
	src, _ := openTemp(t)
	mustApply(t, src, pinOp(t, p, 1, 1, mkCid(t, 7), ""), unpinOp(p, 2, 2, mkCid(t, 7)))
	if err := src.db.DropPrefix(prefixTombIdx); err != nil { // as if made before the index
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "pinset.bak")
	if err := src.Backup(dst); err != nil {
		t.Fatal(err)
	}
	r, _ := openTemp(t)
	if err := r.LoadBackup(dst); err != nil {
		t.Fatal(err)
	}
	if r.tombsIndexed.Load() {
		t.Fatal("indexed right after a backup load")
	}
	if n, err := r.DropTombstones(t.Context(), map[peer.ID]uint64{p: 2}); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v), want the backup's tombstone", n, err)
	}
	checkTombIndex(t, r, "after the backup's round", 0)
}

// A trim cut short after it moved the mark is finished by the next trim to the same mark;
// once finished, a trim to that mark reads no log.
func TestInterruptedTrimIsFinishedAtTheSameMark(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	for seq := uint64(1); seq <= 50; seq++ {
		mustApply(t, s, pinOp(t, p, seq, crdt.HLC(seq), mkCid(t, int(seq)), ""))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.trimLog(ctx, p, 50); err == nil {
		t.Fatal("a cancelled trim reported success")
	}
	if seqs, _ := logKeys(t, s, p); len(seqs) == 0 {
		t.Fatal("the cancelled trim deleted the log: nothing left to test")
	}
	if err := s.trimLog(t.Context(), p, 50); err != nil {
		t.Fatal(err)
	}
	if seqs, _ := logKeys(t, s, p); len(seqs) != 0 {
		t.Fatalf("log entries %v left below the trim mark", seqs)
	}
	if err := s.trimLog(ctx, p, 50); err != nil {
		t.Fatalf("a trim to a mark already trimmed read the log: %v", err)
	}
}

// MayHoldTombstones is false only while the index is complete and empty.
func TestMayHoldTombstones(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	may := func(step string, want bool) {
		t.Helper()
		if got, err := s.MayHoldTombstones(); err != nil || got != want {
			t.Fatalf("%s: MayHoldTombstones %v (%v), want %v", step, got, err, want)
		}
	}
	may("empty store", false)
	mustApply(t, s, pinOp(t, p, 1, 1, mkCid(t, 1), ""))
	may("a live pin", false)
	mustApply(t, s, unpinOp(p, 2, 2, mkCid(t, 1)))
	may("a tombstone", true)
	if n, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{p: 2}); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v), want 1", n, err)
	}
	may("collected", false)
	s.tombsIndexed.Store(false)
	may("an incomplete index", true)
}
