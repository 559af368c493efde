package persistence

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// logKeys lists the seqs of origin's op log keys and the first byte of each entry.
func logKeys(t *testing.T, s *Store, origin peer.ID) (seqs []uint64, marks []byte) {
	t.Helper()
	prefix := opPrefix(origin)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			seqs = append(seqs, uint64(k[len(k)-1])|uint64(k[len(k)-2])<<8)
			if err := it.Item().Value(func(v []byte) error { marks = append(marks, v[0]); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seqs, marks
}

// pinRun is origin's pins of seqs from..to (CIDs from cidBase+seq, clock 100+seq).
func pinRun(t *testing.T, origin peer.ID, from, to uint64, cidBase int) []crdt.Op {
	var ops []crdt.Op
	for seq := from; seq <= to; seq++ {
		ops = append(ops, pinOp(t, origin, seq, crdt.HLC(100+seq), mkCid(t, cidBase+int(seq)), fmt.Sprint("p", seq)))
	}
	return ops
}

// checkOps: OpsFrom(from) gives exactly want's ops of seq >= from, JSON and all.
func checkOps(t *testing.T, s *Store, origin peer.ID, from uint64, want []crdt.Op) {
	t.Helper()
	var got []crdt.Op
	err := s.OpsFrom(context.Background(), origin, from, func(op crdt.Op) error { got = append(got, op); return nil })
	if err != nil {
		t.Fatalf("OpsFrom(%d): %v", from, err)
	}
	var exp []crdt.Op
	for _, op := range want {
		if op.Seq >= from {
			exp = append(exp, op)
		}
	}
	if len(got) != len(exp) {
		t.Fatalf("OpsFrom(%d): %d ops, want %d", from, len(got), len(exp))
	}
	for i := range exp {
		g, w := got[i], exp[i]
		if g.Seq != w.Seq || g.Clock != w.Clock || g.Kind != w.Kind || g.Cid != w.Cid || string(g.PinJSON) != string(w.PinJSON) {
			t.Fatalf("OpsFrom(%d): op %d is %+v, want %+v", from, i, g, w)
		}
	}
}

// TestOpLogRuns: consecutive winning pins of one Apply are logged as one run keyed by its last
// seq and read back whole from any seq; replacing a pin in a run (first, middle, last, or still
// pending in the same Apply) splits the run around a full entry.
func TestOpLogRuns(t *testing.T) {
	s, _ := openTemp(t)
	a, b := newPeer(t, 1), newPeer(t, 2)
	ops := pinRun(t, a, 1, 10, 0)
	mustApply(t, s, ops...)
	seqs, marks := logKeys(t, s, a)
	if fmt.Sprint(seqs) != "[10]" || marks[0] != runMark {
		t.Fatalf("log keys %v marks %x, want one run at 10", seqs, marks)
	}
	for _, from := range []uint64{1, 5, 10, 11} {
		checkOps(t, s, a, from, ops)
	}
	// b replaces the records of a's 1, 5 and 10: a's entries become run 2-4, full 1 and 5,
	// run 6-9, full 10.
	mustApply(t, s, pinOp(t, b, 1, 500, ops[0].Cid, "b1"), pinOp(t, b, 2, 500, ops[4].Cid, "b2"), pinOp(t, b, 3, 500, ops[9].Cid, "b3"))
	seqs, marks = logKeys(t, s, a)
	if fmt.Sprint(seqs) != "[1 4 5 9 10]" || fmt.Sprintf("%x", marks) != fmt.Sprintf("%x", []byte{ops[0].Marshal()[0], runMark, ops[4].Marshal()[0], runMark, ops[9].Marshal()[0]}) {
		t.Fatalf("after replacing 1, 5, 10: keys %v marks %x", seqs, marks)
	}
	for _, from := range []uint64{1, 3, 5, 6, 10} {
		checkOps(t, s, a, from, ops)
	}
	if vv, _ := s.VersionVector(); vv[a] != 10 || vv[b] != 3 {
		t.Fatalf("version vector %v", vv)
	}
	// Within one Apply: a's 11-13, then 14 replacing 12's record while 11-13 are pending.
	more := append(pinRun(t, a, 11, 13, 0), pinOp(t, a, 14, 900, mkCid(t, 12), "again"))
	mustApply(t, s, more...)
	seqs, _ = logKeys(t, s, a)
	if fmt.Sprint(seqs) != "[1 4 5 9 10 11 12 13 14]" { // 11 and 13 stubs, 12 full, 14 a stub
		t.Fatalf("after a replace inside a pending run: keys %v", seqs)
	}
	checkOps(t, s, a, 1, append(ops, more...))
}

// TestOpLogRunsAboveAGap: a run stored above a gap is held, not counted, until the gap fills,
// in a later Apply or in the same one, in any order; a duplicate inside a run is skipped.
func TestOpLogRunsAboveAGap(t *testing.T) {
	s, _ := openTemp(t)
	a := newPeer(t, 1)
	ops := pinRun(t, a, 1, 20, 0)
	mustApply(t, s, ops[9:15]...) // 10-15 above the gap
	if held, err := s.HeldAbove(context.Background(), a, 0, 10); err != nil || fmt.Sprint(held) != "[{10 15}]" {
		t.Fatalf("held %v %v", held, err)
	}
	if held, _ := s.HeldAbove(context.Background(), a, 12, 10); fmt.Sprint(held) != "[{13 15}]" {
		t.Fatalf("held above 12: %v", held)
	}
	if vv, _ := s.VersionVector(); vv[a] != 0 {
		t.Fatalf("version vector %v with a gap", vv)
	}
	// One Apply: 17-20, a duplicate of 12, then 1-9 out of order, then 16.
	batch := append(append([]crdt.Op{}, ops[16:20]...), ops[11])
	for _, i := range rand.New(rand.NewSource(1)).Perm(9) {
		batch = append(batch, ops[i])
	}
	batch = append(batch, ops[15])
	if ch := mustApply(t, s, batch...); ch[4] {
		t.Fatal("the duplicate of 12 changed something")
	}
	if vv, _ := s.VersionVector(); vv[a] != 20 {
		t.Fatalf("version vector %v, want 20", vv)
	}
	checkOps(t, s, a, 1, ops)
}

// TestOpLogRunBounds: a run stays under runMaxBytes (Badger keeps it in the LSM tree); trimming
// deletes whole entries up to the floor and leaves the run that straddles it readable above.
func TestOpLogRunBounds(t *testing.T) {
	s, _ := openTemp(t)
	a := newPeer(t, 1)
	ops := pinRun(t, a, 1, 2000, 0)
	mustApply(t, s, ops...)
	seqs, marks := logKeys(t, s, a)
	if len(seqs) < 2 {
		t.Fatalf("2000 pins in %d entries", len(seqs))
	}
	for i, seq := range seqs {
		v := rawLogEntry(t, s, a, seq)
		if marks[i] != runMark || len(v) > runMaxBytes+128 {
			t.Fatalf("entry at %d: %d bytes, mark %x", seq, len(v), marks[i])
		}
	}
	floor := seqs[0] + 10
	if err := s.trimLog(context.Background(), a, floor); err != nil {
		t.Fatal(err)
	}
	after, _ := logKeys(t, s, a)
	if len(after) != len(seqs)-1 {
		t.Fatalf("trimmed to %d: keys %v, were %v", floor, after, seqs)
	}
	checkOps(t, s, a, floor+1, ops)
}

// entrySpans lists origin's op log entries as [first, last] seqs.
func entrySpans(t *testing.T, s *Store, origin peer.ID) [][2]uint64 {
	t.Helper()
	prefix := opPrefix(origin)
	var out [][2]uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			last := binary.BigEndian.Uint64(it.Item().Key()[len(prefix):])
			err := it.Item().Value(func(v []byte) error {
				first, err := entryFirst(last, v)
				out = append(out, [2]uint64{first, last})
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpLogRunsOutOfOrderInOneApply: ops of one origin above their predecessors and then the
// predecessors, with duplicates, in one Apply: the vector counts them all, and no two entries
// cover a seq (a duplicate is not logged twice).
func TestOpLogRunsOutOfOrderInOneApply(t *testing.T) {
	s, _ := openTemp(t)
	a, b := newPeer(t, 1), newPeer(t, 2)
	ops := pinRun(t, a, 1, 600, 0)
	mustApply(t, s, ops[2], ops[0], ops[1]) // 3, 1, 2
	if vv, _ := s.VersionVector(); vv[a] != 3 {
		t.Fatalf("3, 1, 2: version vector %d", vv[a])
	}
	in := append(append(append([]crdt.Op{}, ops[255:512]...), ops[3:300]...), ops[400]) // a gap's pull after the batch above it
	mustApply(t, s, in...)
	if vv, _ := s.VersionVector(); vv[a] != 512 {
		t.Fatalf("version vector %d, want 512", vv[a])
	}
	mustApply(t, s, ops[512:]...)
	es := entrySpans(t, s, a)
	for i := 1; i < len(es); i++ {
		if es[i][0] <= es[i-1][1] {
			t.Fatalf("entries overlap: %v", es)
		}
	}
	checkOps(t, s, a, 1, ops)
	// A pin of a run replaced after a duplicate of its neighbour: the run splits cleanly.
	mustApply(t, s, pinOp(t, b, 1, 5000, ops[3].Cid, "b"))
	checkOps(t, s, a, 1, ops)
}

// TestOpLogRunsAnyOrder: random orders, duplicates and chunkings of two origins' ops (pins
// and unpins of few CIDs: many replacements) leave a full vector, entries that do not
// overlap, and a log that reads back every op from any seq.
func TestOpLogRunsAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	ps := []peer.ID{newPeer(t, 1), newPeer(t, 2)}
	for round := 0; round < 150; round++ {
		s, _ := openTemp(t)
		n := uint64(5 + rng.Intn(40))
		byOrigin := map[peer.ID][]crdt.Op{}
		var ops []crdt.Op
		for _, p := range ps {
			for seq := uint64(1); seq <= n; seq++ {
				c, clock := mkCid(t, rng.Intn(15)), crdt.HLC(rng.Intn(1000))
				op := pinOp(t, p, seq, clock, c, "x")
				if rng.Intn(6) == 0 {
					op = unpinOp(p, seq, clock, c)
				}
				byOrigin[p] = append(byOrigin[p], op)
				ops = append(ops, op)
			}
		}
		in := append([]crdt.Op(nil), ops...)
		for i := 0; i < len(ops)/2; i++ {
			in = append(in, ops[rng.Intn(len(ops))])
		}
		for i := range in { // a partial shuffle keeps some runs
			if rng.Intn(3) == 0 {
				j := rng.Intn(len(in))
				in[i], in[j] = in[j], in[i]
			}
		}
		for len(in) > 0 {
			k := min(len(in), 1+rng.Intn(30))
			mustApply(t, s, in[:k]...)
			in = in[k:]
		}
		vv, _ := s.VersionVector()
		for _, p := range ps {
			if vv[p] != n {
				t.Fatalf("round %d: version vector %d, want %d", round, vv[p], n)
			}
			es := entrySpans(t, s, p)
			for i := 1; i < len(es); i++ {
				if es[i][0] <= es[i-1][1] {
					t.Fatalf("round %d: entries overlap: %v", round, es)
				}
			}
			checkOps(t, s, p, 1+uint64(rng.Intn(int(n))), byOrigin[p])
		}
	}
}

// TestOpLogRunSplitOnce: replacing several pins of one run in one Apply (an unpin of an
// ingested list) splits the run once, at the end: full entries for the replaced pins, runs or
// stubs between them; a run of the same origin met meanwhile is split in turn.
func TestOpLogRunSplitOnce(t *testing.T) {
	s, _ := openTemp(t)
	a, b := newPeer(t, 1), newPeer(t, 2)
	first := pinRun(t, a, 1, 10, 0)
	mustApply(t, s, first...)
	second := pinRun(t, a, 11, 20, 0)
	mustApply(t, s, second...)
	ops := append(first, second...)
	var unpins []crdt.Op
	for i, seq := range []int{2, 3, 4, 7, 12, 5, 20} { // 5: back to the first run after the second
		unpins = append(unpins, unpinOp(b, uint64(i+1), 1000, ops[seq-1].Cid))
	}
	mustApply(t, s, unpins...)
	seqs, marks := logKeys(t, s, a)
	full := ops[0].Marshal()[0]
	want := []struct {
		seq  uint64
		mark byte
	}{{1, stubMark}, {2, full}, {3, full}, {4, full}, {5, full}, {6, stubMark}, {7, full}, {10, runMark},
		{11, stubMark}, {12, full}, {19, runMark}, {20, full}}
	if len(seqs) != len(want) {
		t.Fatalf("log keys %v marks %x", seqs, marks)
	}
	for i, w := range want {
		if seqs[i] != w.seq || marks[i] != w.mark {
			t.Fatalf("log keys %v marks %x: entry %d is %d/%x, want %d/%x", seqs, marks, i, seqs[i], marks[i], w.seq, w.mark)
		}
	}
	for _, from := range []uint64{1, 2, 6, 8, 13, 20} {
		checkOps(t, s, a, from, ops)
	}
	checkOps(t, s, b, 1, unpins)
}

// TestUnpinOfTrimmedPins: unpins of pins whose log entries were trimmed (a collection ran)
// leave the log as it was below the floor and keep the full ops of the run that straddles it;
// the log above the floor reads back exactly. (Such unpins no longer search the log for the
// trimmed entries, which cost a step over every deleted key per unpin.)
func TestUnpinOfTrimmedPins(t *testing.T) {
	s, dir := openTemp(t)
	a := newPeer(t, 1)
	ops := pinRun(t, a, 1, 2000, 0)
	mustApply(t, s, ops...)
	seqs, _ := logKeys(t, s, a)
	floor := seqs[0] + 10
	if err := s.trimLog(context.Background(), a, floor); err != nil {
		t.Fatal(err)
	}
	var unpins []crdt.Op
	for i := uint64(1); i <= floor+20; i++ {
		unpins = append(unpins, unpinOp(a, 2000+i, crdt.HLC(5000+i), ops[i-1].Cid))
	}
	for i, ch := range mustApply(t, s, unpins...) {
		if !ch {
			t.Fatalf("unpin %d did not apply", i+1)
		}
	}
	want := append(append([]crdt.Op(nil), ops...), unpins...)
	checkOps(t, s, a, floor+1, want)
	s = reopen(t, s, dir)
	checkOps(t, s, a, floor+1, want)
}
