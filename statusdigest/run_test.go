package statusdigest

import (
	"slices"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// TestRunCoalesces: a run keeps one entry per CID, the one of the highest seq whatever order
// its deltas came in, every delta's seq, and counts only new CIDs as fresh; the received
// digests' entries are not changed.
func TestRunCoalesces(t *testing.T) {
	a, b, c := []byte("cid-a"), []byte("cid-b"), []byte("cid-c")
	d3 := Digest{Epoch: 1, Seq: 3, Entries: []Entry{{Cid: a, Status: api.TrackerStatusPinning, Seq: 3}, {Cid: b, Status: api.TrackerStatusPinning, Seq: 3}}}
	d5 := Digest{Epoch: 1, Seq: 5, Entries: []Entry{{Cid: a, Status: api.TrackerStatusPinned, Seq: 5}, {Cid: c, Status: api.TrackerStatusPinning, Seq: 5}}}
	d4 := Digest{Epoch: 1, Seq: 4, Entries: []Entry{{Cid: a, Status: api.TrackerStatusPinError, Seq: 4}, {Cid: b, Seq: 4}}} // late; b's tombstone
	r := NewRun(d3)
	if n := r.Fresh(d5); n != 1 {
		t.Fatalf("Fresh(d5) = %d, want 1 (c)", n)
	}
	r.Add(d5)
	if n := r.Fresh(d4); n != 0 {
		t.Fatalf("Fresh(d4) = %d, want 0", n)
	}
	r.Add(d4)
	if !slices.Equal(r.Seqs, []uint64{3, 5, 4}) {
		t.Fatalf("seqs %v", r.Seqs)
	}
	got := map[string]Entry{}
	for _, e := range r.Entries {
		if _, dup := got[string(e.Cid)]; dup {
			t.Fatalf("%s twice in the run", e.Cid)
		}
		got[string(e.Cid)] = e
	}
	want := map[string]Entry{"cid-a": d5.Entries[0], "cid-b": d4.Entries[1], "cid-c": d5.Entries[1]}
	if len(got) != len(want) {
		t.Fatalf("run holds %d CIDs, want %d", len(got), len(want))
	}
	for k, w := range want {
		if g := got[k]; g.Seq != w.Seq || g.Status != w.Status {
			t.Fatalf("%s: seq %d %s, want seq %d %s", k, g.Seq, g.Status, w.Seq, w.Status)
		}
	}
	if d3.Entries[0].Status != api.TrackerStatusPinning || d3.Entries[1].Seq != 3 {
		t.Fatal("the first delta's entries were changed")
	}
}
