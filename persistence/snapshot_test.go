package persistence

import (
	"errors"
	"reflect"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

func TestApplySnapshotLastWriterWins(t *testing.T) {
	ps := sortedPeers(t, 2)
	a, b := ps[0], ps[1]
	c := mkCid(t, 1)
	live := func(origin peer.ID, seq uint64, clock crdt.HLC, name string) Record {
		return Record{Op: pinOp(t, origin, seq, clock, c, name)}
	}
	dead := func(origin peer.ID, seq uint64, clock crdt.HLC) Record {
		return Record{Op: unpinOp(origin, seq, clock, c), Deleted: true}
	}
	cases := []struct {
		name        string
		local       []crdt.Op // applied with Apply first
		rec         Record
		wantChanged bool
		wantLive    bool
		wantName    string
		wantCount   int
	}{
		{"new live pin", nil, live(a, 1, 10, "x"), true, true, "x", 1},
		{"new tombstone", nil, dead(a, 1, 10), true, false, "", 0},
		{"newer pin replaces", []crdt.Op{pinOp(t, a, 1, 5, c, "old")}, live(b, 3, 10, "new"), true, true, "new", 1},
		{"older pin loses", []crdt.Op{pinOp(t, a, 1, 20, c, "mine")}, live(b, 3, 10, "theirs"), false, true, "mine", 1},
		{"newer tombstone removes", []crdt.Op{pinOp(t, a, 1, 5, c, "old")}, dead(b, 2, 10), true, false, "", 0},
		{"older tombstone loses", []crdt.Op{pinOp(t, a, 1, 20, c, "mine")}, dead(b, 2, 10), false, true, "mine", 1},
		{"pin over older tombstone", []crdt.Op{unpinOp(a, 1, 5, c)}, live(b, 1, 10, "back"), true, true, "back", 1},
		{"equal clock, greater origin wins", []crdt.Op{pinOp(t, a, 1, 10, c, "a")}, live(b, 1, 10, "b"), true, true, "b", 1},
		{"equal clock, smaller origin loses", []crdt.Op{pinOp(t, b, 1, 10, c, "b")}, live(a, 1, 10, "a"), false, true, "b", 1},
		{"same record again", []crdt.Op{pinOp(t, a, 1, 10, c, "x")}, live(a, 1, 10, "x"), false, true, "x", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTemp(t)
			if len(tc.local) > 0 {
				mustApply(t, s, tc.local...)
			}
			vvBefore, _ := s.VersionVector()
			ch, err := s.ApplySnapshot([]Record{tc.rec})
			if err != nil {
				t.Fatal(err)
			}
			if ch[0].Won() != tc.wantChanged {
				t.Fatalf("changed=%v want %v", ch[0], tc.wantChanged)
			}
			p, ok, err := s.GetPin(c)
			if err != nil || ok != tc.wantLive || (ok && p.Name != tc.wantName) {
				t.Fatalf("GetPin = %v %v %v, want live=%v name=%q", p.Name, ok, err, tc.wantLive, tc.wantName)
			}
			if n, _ := s.CountPins(); n != tc.wantCount {
				t.Fatalf("CountPins=%d want %d", n, tc.wantCount)
			}
			if mc, _ := s.MaxClock(); mc < tc.rec.Op.Clock {
				t.Fatalf("MaxClock=%d below the snapshot's %d", mc, tc.rec.Op.Clock)
			}
			// A snapshot is not an op: no log entry, no version vector change.
			if vv, _ := s.VersionVector(); !reflect.DeepEqual(vv, vvBefore) {
				t.Fatalf("vv %v changed to %v", vvBefore, vv)
			}
			if last, _ := s.LastSeq(b); len(tc.local) == 0 && last != 0 {
				t.Fatalf("LastSeq=%d after a snapshot only", last)
			}
		})
	}
}

func TestApplySnapshotRejectsInvalidRecords(t *testing.T) {
	s, _ := openTemp(t)
	a := newPeer(t, 1)
	good := Record{Op: pinOp(t, a, 1, 1, mkCid(t, 1), "")}
	for name, bad := range map[string]Record{
		"no origin":    {Op: crdt.Op{Seq: 1, Clock: 1, Kind: crdt.OpPin, Cid: mkCid(t, 2), PinJSON: []byte(`{}`)}},
		"no json":      {Op: crdt.Op{Origin: a, Seq: 1, Clock: 1, Kind: crdt.OpPin, Cid: mkCid(t, 2)}},
		"seq 0":        {Op: unpinOp(a, 0, 1, mkCid(t, 2)), Deleted: true},
		"no cid":       {Op: crdt.Op{Origin: a, Seq: 1, Clock: 1, Kind: crdt.OpUnpin}, Deleted: true},
		"unknown kind": {Op: crdt.Op{Origin: a, Seq: 1, Clock: 1, Kind: 9, Cid: mkCid(t, 2)}},
	} {
		if _, err := s.ApplySnapshot([]Record{good, bad}); !errors.Is(err, api.ErrInvalid) {
			t.Fatalf("%s: err=%v, want ErrInvalid", name, err)
		}
	}
	if _, found, _ := s.Get(mkCid(t, 1)); found {
		t.Fatal("a rejected snapshot page wrote records")
	}
	// A tombstone record is merged as an unpin even if its op says pin.
	ch, err := s.ApplySnapshot([]Record{{Op: pinOp(t, a, 3, 3, mkCid(t, 3), "x"), Deleted: true}})
	if err != nil || !ch[0].Won() {
		t.Fatal(ch, err)
	}
	if rec, found, _ := s.Get(mkCid(t, 3)); !found || !rec.Deleted {
		t.Fatalf("tombstone record stored as %+v", rec)
	}
}

func TestRaiseVersionVectorAndOpsFrom(t *testing.T) {
	s, _ := openTemp(t)
	ps := sortedPeers(t, 2)
	a, b := ps[0], ps[1]
	// a/1, a/2 contiguous; a/6 after a gap; b/1..3 contiguous.
	mustApply(t, s,
		pinOp(t, a, 1, 1, mkCid(t, 1), ""), pinOp(t, a, 2, 2, mkCid(t, 2), ""), pinOp(t, a, 6, 6, mkCid(t, 6), ""),
		pinOp(t, b, 1, 1, mkCid(t, 11), ""), pinOp(t, b, 2, 2, mkCid(t, 12), ""), pinOp(t, b, 3, 3, mkCid(t, 13), ""),
	)
	// The snapshot covers a up to 5 (the gap fills, so a's entry moves on to 6) and b up to 2
	// (b already has more: left alone, its log stays complete).
	if err := s.RaiseVersionVector(t.Context(), map[peer.ID]uint64{a: 5, b: 2}); err != nil {
		t.Fatal(err)
	}
	vv, _ := s.VersionVector()
	if vv[a] != 6 || vv[b] != 3 {
		t.Fatalf("vv=%v want a:6 b:3", vv)
	}
	if tr, _ := s.TrimmedTo(a); tr != 5 {
		t.Fatalf("TrimmedTo(a)=%d want 5", tr)
	}
	if tr, _ := s.TrimmedTo(b); tr != 0 {
		t.Fatalf("TrimmedTo(b)=%d want 0", tr)
	}
	if last, _ := s.LastSeq(a); last != 6 {
		t.Fatalf("LastSeq(a)=%d", last)
	}
	for _, from := range []uint64{0, 1, 3, 5} {
		if err := s.OpsFrom(t.Context(), a, from, func(crdt.Op) error { return nil }); !errors.Is(err, ErrTrimmed) {
			t.Fatalf("OpsFrom(a, %d) = %v, want ErrTrimmed", from, err)
		}
	}
	collect := func(origin peer.ID, from uint64) []uint64 {
		var seqs []uint64
		if err := s.OpsFrom(t.Context(), origin, from, func(op crdt.Op) error { seqs = append(seqs, op.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		return seqs
	}
	if got := collect(a, 6); !reflect.DeepEqual(got, []uint64{6}) {
		t.Fatalf("OpsFrom(a, 6)=%v", got)
	}
	if got := collect(b, 1); !reflect.DeepEqual(got, []uint64{1, 2, 3}) {
		t.Fatalf("OpsFrom(b, 1)=%v", got)
	}
	// Ops covered by the snapshot are duplicates now; the next one is new.
	if ch := mustApply(t, s, pinOp(t, a, 4, 4, mkCid(t, 4), "")); ch[0] {
		t.Fatal("op covered by the raised vector applied")
	}
	if ch := mustApply(t, s, pinOp(t, a, 7, 7, mkCid(t, 7), "")); !ch[0] {
		t.Fatal("op after the raised vector not applied")
	}
	// Never backwards; raising again over an already trimmed range is harmless.
	if err := s.RaiseVersionVector(t.Context(), map[peer.ID]uint64{a: 3, b: 1}); err != nil {
		t.Fatal(err)
	}
	vv, _ = s.VersionVector()
	if tr, _ := s.TrimmedTo(a); vv[a] != 7 || vv[b] != 3 || tr != 5 {
		t.Fatalf("vv=%v trimmed=%d after a lower raise", vv, tr)
	}
	// DropTombstones afterwards keeps the trim mark consistent (never lowers it).
	if _, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{a: 2}); err != nil {
		t.Fatal(err)
	}
	if tr, _ := s.TrimmedTo(a); tr != 5 {
		t.Fatalf("TrimmedTo(a)=%d after DropTombstones", tr)
	}
	if err := s.RaiseVersionVector(t.Context(), map[peer.ID]uint64{"": 3}); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("empty origin: %v", err)
	}
}

func TestIterateRecordsAfterAndPruneAbsent(t *testing.T) {
	s, _ := openTemp(t)
	ps := sortedPeers(t, 2)
	a, b := ps[0], ps[1]
	var ops []crdt.Op
	for i := 1; i <= 6; i++ {
		ops = append(ops, pinOp(t, a, uint64(i), crdt.HLC(i), mkCid(t, i), ""))
	}
	ops = append(ops, unpinOp(b, 1, 9, mkCid(t, 2)))      // tombstone of cid 2, by b/1
	ops = append(ops, pinOp(t, b, 2, 9, mkCid(t, 7), "")) // b/2: not seen by the sender
	mustApply(t, s, ops...)
	var keys []api.Cid
	if err := s.IterateRecords(t.Context(), func(r Record) error { keys = append(keys, r.Op.Cid); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 7 {
		t.Fatalf("%d records", len(keys))
	}
	var after []api.Cid
	if err := s.IterateRecordsAfter(t.Context(), keys[2], func(r Record) error { after = append(after, r.Op.Cid); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, keys[3:]) {
		t.Fatalf("IterateRecordsAfter(%s) = %v, want %v", keys[2], after, keys[3:])
	}
	var all []api.Cid
	_ = s.IterateRecordsAfter(t.Context(), api.Cid{}, func(r Record) error { all = append(all, r.Op.Cid); return nil })
	if !reflect.DeepEqual(all, keys) {
		t.Fatal("IterateRecordsAfter(undefined) differs from IterateRecords")
	}

	// A snapshot page covering (keys[0], keys[4]] that holds only keys[2]: the sender saw
	// a up to 6 and b up to 1, so every other record of the range, except b/2's, was collected.
	vv := map[peer.ID]uint64{a: 6, b: 1}
	removed, err := s.PruneAbsent(t.Context(), keys[0], keys[4], []api.Cid{keys[2]}, vv)
	if err != nil {
		t.Fatal(err)
	}
	want := map[api.Cid]bool{}
	for _, c := range keys[1:5] {
		if c == keys[2] {
			continue
		}
		if rec, _, _ := s.Get(c); rec.Op.Origin == b && rec.Op.Seq == 2 {
			continue
		}
		want[c] = true
	}
	got := map[api.Cid]bool{}
	lives := 0
	for _, r := range removed {
		got[r.Op.Cid] = true
		if !r.Deleted {
			lives++
		}
	}
	for c := range want {
		if _, found, _ := s.Get(c); found {
			t.Fatalf("%s not pruned", c)
		}
	}
	for _, c := range []api.Cid{keys[0], keys[2], keys[5], keys[6], mkCid(t, 7)} {
		if _, found, _ := s.Get(c); !found {
			t.Fatalf("%s pruned though outside the range, present or unseen by the sender", c)
		}
	}
	expected := 0
	for _, c := range keys[1:5] {
		if c != keys[2] && c != mkCid(t, 7) {
			expected++
		}
	}
	if len(removed) != expected || len(got) != expected {
		t.Fatalf("pruned %d records, want %d", len(removed), expected)
	}
	n, _ := s.CountPins()
	if n != 6-lives { // 6 live pins before (cid 2 is a tombstone)
		t.Fatalf("CountPins=%d after pruning %d live pins", n, lives)
	}
	// The whole range to the end with everything present prunes nothing more.
	removed, err = s.PruneAbsent(t.Context(), api.Cid{}, api.Cid{}, all, vv)
	if err != nil || len(removed) != 0 {
		t.Fatalf("removed %v %v", removed, err)
	}
}
