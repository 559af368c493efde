package persistence

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// A collection round that finds no tombstone left lets the next rounds skip their scan, and
// only until a tombstone is written: by an unpin, by a snapshot page, or by a loaded backup.
func TestCollectionSkipsItsScanOnlyWhileNoTombstoneCanBeStored(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	all := func(seq uint64) map[peer.ID]uint64 { return map[peer.ID]uint64{p: seq} }
	mustApply(t, s, pinOp(t, p, 1, 1, mkCid(t, 1), ""), unpinOp(p, 2, 2, mkCid(t, 1)), pinOp(t, p, 3, 3, mkCid(t, 2), ""))
	if s.tombs.none() {
		t.Fatal("a store with a tombstone is known to hold none")
	}
	// A tombstone not yet seen by every member stays, and so does the scan.
	if n, err := s.DropTombstones(t.Context(), all(1)); err != nil || n != 0 {
		t.Fatalf("dropped %d (%v), want 0", n, err)
	}
	if s.tombs.none() {
		t.Fatal("a round that left a tombstone made the store known empty")
	}
	if n, err := s.DropTombstones(t.Context(), all(3)); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v), want 1", n, err)
	}
	if !s.tombs.none() {
		t.Fatal("a round that left no tombstone did not make the store known empty")
	}
	// An unpin after that: the next round scans and drops it.
	mustApply(t, s, unpinOp(p, 4, 4, mkCid(t, 2)))
	if s.tombs.none() {
		t.Fatal("still known empty after an unpin")
	}
	if n, err := s.DropTombstones(t.Context(), all(4)); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v), want the unpin's tombstone", n, err)
	}
	// A snapshot page carrying a tombstone.
	q := newPeer(t, 2)
	if _, err := s.ApplySnapshot([]Record{{Op: unpinOp(q, 1, 5, mkCid(t, 3)), Deleted: true}}); err != nil {
		t.Fatal(err)
	}
	if s.tombs.none() {
		t.Fatal("still known empty after a snapshot's tombstone")
	}
	if n, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{p: 4, q: 1}); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v), want the snapshot's tombstone", n, err)
	}
	if !s.tombs.none() {
		t.Fatal("not known empty again")
	}

	// A backup holding a tombstone, loaded into a store known to hold none.
	src, _ := openTemp(t)
	mustApply(t, src, pinOp(t, p, 1, 1, mkCid(t, 7), ""), unpinOp(p, 2, 2, mkCid(t, 7)))
	dst := filepath.Join(t.TempDir(), "pinset.bak")
	if err := src.Backup(dst); err != nil {
		t.Fatal(err)
	}
	r, _ := openTemp(t)
	if _, err := r.DropTombstones(t.Context(), all(0)); err != nil || !r.tombs.none() {
		t.Fatalf("an empty store is not known empty after a round (%v)", err)
	}
	if err := r.LoadBackup(dst); err != nil {
		t.Fatal(err)
	}
	if n, err := r.DropTombstones(t.Context(), all(2)); err != nil || n != 1 {
		t.Fatalf("dropped %d (%v), want the backup's tombstone", n, err)
	}
}

// A round interrupted before the end of its scan proves nothing.
func TestInterruptedCollectionKeepsScanning(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	mustApply(t, s, pinOp(t, p, 1, 1, mkCid(t, 1), ""))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.DropTombstones(ctx, map[peer.ID]uint64{p: 1}); err == nil {
		t.Fatal("a cancelled round reported success")
	}
	if s.tombs.none() {
		t.Fatal("a cancelled round made the store known empty")
	}
}

// A tombstone written while a scan runs keeps the store unknown.
func TestTombStateWriteDuringScan(t *testing.T) {
	var ts tombState
	start := ts.scanStart()
	ts.wrote()
	ts.scanned(start)
	if ts.none() {
		t.Fatal("a tombstone written during the scan was forgotten")
	}
	ts.scanned(ts.scanStart())
	if !ts.none() {
		t.Fatal("a clean scan did not count")
	}
	ts.forget()
	if ts.none() {
		t.Fatal("forget kept the state")
	}
}

// A round on a store known to hold no tombstone does not read the records: with its context
// cancelled (and nothing to trim) it still succeeds, where a scan would fail.
func TestCollectionOnAKnownEmptyStoreReadsNoRecord(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	mustApply(t, s, pinOp(t, p, 1, 1, mkCid(t, 1), ""))
	if _, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{p: 1}); err != nil || !s.tombs.none() {
		t.Fatalf("first round: %v, known empty %v", err, s.tombs.none())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.DropTombstones(ctx, map[peer.ID]uint64{}); err != nil {
		t.Fatalf("a round on a store known empty scanned: %v", err)
	}
}
