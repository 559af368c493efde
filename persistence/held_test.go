package persistence

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/pincluster/pincluster/crdt"
)

// HeldAbove lists the ranges stored above the contiguous prefix, up to a limit.
func TestHeldAbove(t *testing.T) {
	s, _ := openTemp(t)
	o, other := newPeer(t, 1), newPeer(t, 2)
	var ops []crdt.Op
	for _, seq := range []uint64{1, 2, 3, 5, 6, 9, 12, 13, 14} {
		ops = append(ops, pinOp(t, o, seq, crdt.HLC(seq), mkCid(t, int(seq)), "p"))
	}
	ops = append(ops, pinOp(t, other, 7, 99, mkCid(t, 99), "q"))
	mustApply(t, s, ops...)
	vv, err := s.VersionVector()
	if err != nil || vv[o] != 3 {
		t.Fatalf("vv %v %v", vv, err)
	}
	for _, tc := range []struct {
		after uint64
		limit int
		want  []SeqRange
	}{
		{3, 10, []SeqRange{{5, 6}, {9, 9}, {12, 14}}},
		{3, 2, []SeqRange{{5, 6}, {9, 9}}},
		{6, 10, []SeqRange{{9, 9}, {12, 14}}},
		{14, 10, nil},
		{3, 0, nil},
	} {
		got, err := s.HeldAbove(t.Context(), o, tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("after %d limit %d: %v, want %v", tc.after, tc.limit, got, tc.want)
		}
	}
	if got, _ := s.HeldAbove(t.Context(), other, 0, 10); fmt.Sprint(got) != "[{7 7}]" {
		t.Fatalf("other origin: %v", got)
	}
}
