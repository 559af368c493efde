package persistence

import (
	"os"
	"path/filepath"
	"testing"
)

// HoldTables names the store's table files as /proc/self/maps names them (absolute), and its
// release lets the store close.
func TestHoldTables(t *testing.T) {
	s, dir := openTemp(t)
	a := newPeer(t, 1)
	mustApply(t, s, pinOp(t, a, 1, 10, mkCid(t, 1), "x"), pinOp(t, a, 2, 20, mkCid(t, 2), "y"))
	s = reopen(t, s, dir) // the memtable is written to a table at close
	held, release, err := s.HoldTables()
	if err != nil {
		t.Fatal(err)
	}
	if len(held) == 0 {
		t.Fatal("no table held after a reopen")
	}
	for p := range held {
		if !filepath.IsAbs(p) || filepath.Ext(p) != ".sst" {
			t.Fatalf("held %q: want an absolute .sst path", p)
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("held %q: %v", p, err)
		}
	}
	release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
