package persistence

import (
	"reflect"
	"testing"

	"github.com/pincluster/pincluster/crdt"
)

// A conditional op (a repin made from record x) and an unpin made after x but stamped before
// the repin converge to the unpin in either order; the repin's record and log entry keep its
// rank across a restart, and it replaces x where nothing else happened.
func TestConditionalOpsConverge(t *testing.T) {
	ps := sortedPeers(t, 3)
	a, b, c := ps[0], ps[1], ps[2]
	x := mkCid(t, 1)
	pin := pinOp(t, a, 1, 10, x, "x")
	unpin := unpinOp(c, 1, 20, x)
	repin := pinOp(t, b, 1, 30, x, "x-moved")
	repin.After = pin.Rank()
	for _, order := range [][]crdt.Op{{pin, repin, unpin}, {pin, unpin, repin}, {unpin, repin, pin}} {
		s, _ := openTemp(t)
		for _, op := range order {
			mustApply(t, s, op)
		}
		if rec, found, err := s.Get(x); err != nil || !found || !rec.Deleted || rec.Op.Origin != c {
			t.Fatalf("order %v: record %+v found %v (%v), want c's unpin", order, rec, found, err)
		}
	}
	s, dir := openTemp(t)
	mustApply(t, s, pin, repin)
	s = reopen(t, s, dir)
	rec, found, err := s.Get(x)
	if err != nil || !found || rec.Deleted || !reflect.DeepEqual(rec.Op, repin) {
		t.Fatalf("record %+v (%v), want the repin %+v", rec.Op, err, repin)
	}
	var logged []crdt.Op
	if err := s.OpsFrom(t.Context(), b, 1, func(op crdt.Op) error { logged = append(logged, op); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 || !reflect.DeepEqual(logged[0], repin) {
		t.Fatalf("logged %+v, want the repin with its rank", logged)
	}
	if js, _, _ := s.GetPin(x); js.Name != "x-moved" {
		t.Fatalf("listing reads %+v", js)
	}
	mustApply(t, s, unpin) // made after x, stamped before the repin: still wins
	if rec, _, _ := s.Get(x); !rec.Deleted {
		t.Fatal("the unpin lost to a repin of an older record")
	}
}
