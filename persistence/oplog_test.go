package persistence

import (
	"context"
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// rawLogEntry is the stored op log value of origin's seq.
func rawLogEntry(t *testing.T, s *Store, origin peer.ID, seq uint64) []byte {
	t.Helper()
	var v []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(opKey(origin, seq))
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func opsOf(t *testing.T, s *Store, origin peer.ID) ([]crdt.Op, error) {
	t.Helper()
	var ops []crdt.Op
	err := s.OpsFrom(context.Background(), origin, 1, func(op crdt.Op) error { ops = append(ops, op); return nil })
	return ops, err
}

// TestOpLogStubs: a winning pin is logged as a stub and read back whole from its record; an
// op that replaces it first turns the stub into a full entry; a losing op and an unpin are
// logged whole; a stub whose record was pruned reads as trimmed (a snapshot follows).
func TestOpLogStubs(t *testing.T) {
	s, _ := openTemp(t)
	a, b := newPeer(t, 1), newPeer(t, 2)
	c1, c2 := mkCid(t, 1), mkCid(t, 2)
	p1 := pinOp(t, a, 1, 10, c1, "first")
	mustApply(t, s, p1)
	if v := rawLogEntry(t, s, a, 1); v[0] != stubMark || len(v) > 64 {
		t.Fatalf("winning pin logged as %d bytes starting %#x, want a stub", len(v), v[0])
	}
	ops, err := opsOf(t, s, a)
	if err != nil || len(ops) != 1 || string(ops[0].PinJSON) != string(p1.PinJSON) || ops[0].Clock != 10 || ops[0].Origin != a || ops[0].Seq != 1 {
		t.Fatalf("stub read back: %+v %v", ops, err)
	}
	// b's newer pin replaces the record: a's entry is rewritten whole first.
	p2 := pinOp(t, b, 1, 20, c1, "second")
	// b's older pin of c2 after a's newer one loses: logged whole.
	p3 := pinOp(t, a, 2, 30, c2, "a-c2")
	p4 := pinOp(t, b, 2, 25, c2, "b-c2-loses")
	if ch := mustApply(t, s, p2, p3, p4); !ch[0] || !ch[1] || ch[2] {
		t.Fatalf("changed %v", ch)
	}
	if v := rawLogEntry(t, s, a, 1); v[0] == stubMark {
		t.Fatal("the replaced pin's entry is still a stub")
	}
	if v := rawLogEntry(t, s, b, 2); v[0] == stubMark {
		t.Fatal("a losing pin was logged as a stub")
	}
	for origin, want := range map[peer.ID][]crdt.Op{a: {p1, p3}, b: {p2, p4}} {
		ops, err := opsOf(t, s, origin)
		if err != nil || len(ops) != len(want) {
			t.Fatalf("ops of %s: %d %v", origin, len(ops), err)
		}
		for i := range want {
			if string(ops[i].PinJSON) != string(want[i].PinJSON) || ops[i].Seq != want[i].Seq || ops[i].Clock != want[i].Clock {
				t.Fatalf("op %d of %s: %+v, want %+v", i, origin, ops[i], want[i])
			}
		}
	}
	// An unpin replacing a stubbed pin: the pin's entry goes whole, the unpin is whole.
	mustApply(t, s, unpinOp(a, 3, 40, c2))
	if v := rawLogEntry(t, s, a, 2); v[0] == stubMark {
		t.Fatal("the unpinned pin's entry is still a stub")
	}
	if ops, err := opsOf(t, s, a); err != nil || len(ops) != 3 || ops[2].Kind != crdt.OpUnpin || string(ops[1].PinJSON) != string(p3.PinJSON) {
		t.Fatalf("after unpin: %+v %v", ops, err)
	}
	// A record pruned (a collected tombstone elsewhere): its stub cannot be read, the log
	// reads as trimmed from there.
	if _, err := s.PruneAbsent(context.Background(), api.Cid{}, api.Cid{}, nil, map[peer.ID]uint64{b: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := opsOf(t, s, b); !errors.Is(err, ErrTrimmed) {
		t.Fatalf("stub of a pruned record: %v, want ErrTrimmed", err)
	}
}

// TestFormatOneStoreOpens: a store written before stubs (format 1, full entries only) opens
// and is marked format 2.
func TestFormatOneStoreOpens(t *testing.T) {
	s, dir := openTemp(t)
	a := newPeer(t, 1)
	mustApply(t, s, pinOp(t, a, 1, 10, mkCid(t, 1), "x"))
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyFormat, encU64(1)) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if f, err := s2.getCounter(keyFormat); err != nil || f != StoreFormat {
		t.Fatalf("format after open: %d %v", f, err)
	}
	if ops, err := opsOf(t, s2, a); err != nil || len(ops) != 1 {
		t.Fatalf("ops: %v %v", ops, err)
	}
}
