package main

import (
	"reflect"
	"testing"
)

func op(kind Kind, cid string, out Outcome) OpRecord {
	return OpRecord{Kind: kind, Cid: cid, Outcome: out, Peer: 1}
}

func TestExpected(t *testing.T) {
	cases := []struct {
		name string
		ops  []OpRecord
		want Expect
	}{
		{"pin acked", []OpRecord{op(OpPin, "c", Acked)}, Present},
		{"pin maybe", []OpRecord{op(OpPin, "c", Maybe)}, Either},
		{"pin refused", []OpRecord{op(OpPin, "c", Refused)}, NeverPinned},
		{"pin acked, unpin acked", []OpRecord{op(OpPin, "c", Acked), op(OpUnpin, "c", Acked)}, Absent},
		{"pin acked, unpin maybe", []OpRecord{op(OpPin, "c", Acked), op(OpUnpin, "c", Maybe)}, Either},
		{"pin acked, unpin refused", []OpRecord{op(OpPin, "c", Acked), op(OpUnpin, "c", Refused)}, Present},
		{"unpin refused then acked on retry", []OpRecord{op(OpPin, "c", Acked), op(OpUnpin, "c", Refused), op(OpUnpin, "c", Acked)}, Absent},
		{"unpin maybe then acked", []OpRecord{op(OpPin, "c", Acked), op(OpUnpin, "c", Maybe), op(OpUnpin, "c", Acked)}, Absent},
		{"pin maybe, unpin acked", []OpRecord{op(OpPin, "c", Maybe), op(OpUnpin, "c", Acked)}, Absent},
		{"pin maybe, unpin maybe", []OpRecord{op(OpPin, "c", Maybe), op(OpUnpin, "c", Maybe)}, Either},
	}
	for _, tc := range cases {
		if got := Expected(tc.ops)["c"]; got != tc.want {
			t.Errorf("%s: Expected = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func set(cids ...string) map[string]bool {
	m := map[string]bool{}
	for _, c := range cids {
		m[c] = true
	}
	return m
}

func TestCheck(t *testing.T) {
	peers := []int{1, 2, 3}
	cases := []struct {
		name    string
		exp     map[string]Expect
		pinsets map[int]map[string]bool
		want    Verdict
	}{
		{
			name:    "all agree",
			exp:     map[string]Expect{"a": Present, "b": Absent, "c": Either, "d": Either, "e": NeverPinned},
			pinsets: map[int]map[string]bool{1: set("a", "c"), 2: set("a", "c"), 3: set("a", "c")},
		},
		{
			name:    "lost on one peer",
			exp:     map[string]Expect{"a": Present},
			pinsets: map[int]map[string]bool{1: set("a"), 2: set(), 3: set("a")},
			want:    Verdict{Lost: []Finding{{Cid: "a", Peers: []int{2}}}},
		},
		{
			name:    "lost everywhere, listing of peer 3 failed",
			exp:     map[string]Expect{"a": Present},
			pinsets: map[int]map[string]bool{1: set(), 2: set()},
			want:    Verdict{Lost: []Finding{{Cid: "a", Peers: []int{1, 2, 3}}}},
		},
		{
			name:    "acknowledged unpin resurrected",
			exp:     map[string]Expect{"b": Absent},
			pinsets: map[int]map[string]bool{1: set(), 2: set("b"), 3: set("b")},
			want:    Verdict{Resurrected: []Finding{{Cid: "b", Peers: []int{2, 3}}}},
		},
		{
			name:    "maybe op: either outcome, but one for all",
			exp:     map[string]Expect{"c": Either, "d": Either},
			pinsets: map[int]map[string]bool{1: set("c", "d"), 2: set("d"), 3: set("d")},
			want:    Verdict{Diverged: []Finding{{Cid: "c", Peers: []int{1}}}},
		},
		{
			name:    "refused pin and unknown CID are phantoms",
			exp:     map[string]Expect{"e": NeverPinned},
			pinsets: map[int]map[string]bool{1: set("e", "x"), 2: set(), 3: set("x")},
			want:    Verdict{Phantom: []Finding{{Cid: "e", Peers: []int{1}}, {Cid: "x", Peers: []int{1, 3}}}},
		},
	}
	for _, tc := range cases {
		got := Check(tc.exp, tc.pinsets, peers)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
		if got.OK() != (tc.want.OK()) {
			t.Errorf("%s: OK = %v", tc.name, got.OK())
		}
	}
}
