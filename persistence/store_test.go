package persistence

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

func TestApplyLastWriterWins(t *testing.T) {
	ps := sortedPeers(t, 2)
	lo, hi := ps[0], ps[1]
	tests := []struct {
		name        string
		ops         func(c api.Cid) []crdt.Op
		wantChanged []bool
		wantPinned  bool
		wantName    string
		wantFound   bool
		wantCount   int
	}{
		{
			name: "pin then older unpin stays pinned",
			ops: func(c api.Cid) []crdt.Op {
				return []crdt.Op{pinOp(t, lo, 1, 20, c, "a"), unpinOp(hi, 1, 10, c)}
			},
			wantChanged: []bool{true, false}, wantPinned: true, wantName: "a", wantFound: true, wantCount: 1,
		},
		{
			name: "newer unpin leaves a tombstone",
			ops: func(c api.Cid) []crdt.Op {
				return []crdt.Op{pinOp(t, lo, 1, 10, c, "a"), unpinOp(hi, 1, 20, c)}
			},
			wantChanged: []bool{true, true}, wantFound: true, wantCount: 0,
		},
		{
			name: "tombstone beats a later-arriving older pin",
			ops: func(c api.Cid) []crdt.Op {
				return []crdt.Op{unpinOp(hi, 1, 20, c), pinOp(t, lo, 1, 10, c, "a")}
			},
			wantChanged: []bool{true, false}, wantFound: true, wantCount: 0,
		},
		{
			name: "equal clocks: greater origin wins (arriving second)",
			ops: func(c api.Cid) []crdt.Op {
				return []crdt.Op{pinOp(t, lo, 1, 10, c, "lo"), pinOp(t, hi, 1, 10, c, "hi")}
			},
			wantChanged: []bool{true, true}, wantPinned: true, wantName: "hi", wantFound: true, wantCount: 1,
		},
		{
			name: "equal clocks: greater origin wins (arriving first)",
			ops: func(c api.Cid) []crdt.Op {
				return []crdt.Op{pinOp(t, hi, 1, 10, c, "hi"), pinOp(t, lo, 1, 10, c, "lo")}
			},
			wantChanged: []bool{true, false}, wantPinned: true, wantName: "hi", wantFound: true, wantCount: 1,
		},
		{
			name: "duplicate skipped",
			ops: func(c api.Cid) []crdt.Op {
				return []crdt.Op{pinOp(t, lo, 1, 10, c, "a"), pinOp(t, lo, 1, 10, c, "a")}
			},
			wantChanged: []bool{true, false}, wantPinned: true, wantName: "a", wantFound: true, wantCount: 1,
		},
		{
			name: "newer pin replaces options",
			ops: func(c api.Cid) []crdt.Op {
				return []crdt.Op{pinOp(t, lo, 1, 10, c, "a"), pinOp(t, lo, 2, 11, c, "b")}
			},
			wantChanged: []bool{true, true}, wantPinned: true, wantName: "b", wantFound: true, wantCount: 1,
		},
		{
			name: "unpin then re-pin",
			ops: func(c api.Cid) []crdt.Op {
				return []crdt.Op{pinOp(t, lo, 1, 10, c, "a"), unpinOp(lo, 2, 11, c), pinOp(t, hi, 1, 12, c, "c")}
			},
			wantChanged: []bool{true, true, true}, wantPinned: true, wantName: "c", wantFound: true, wantCount: 1,
		},
		{
			name:        "unpin of unknown CID is a tombstone",
			ops:         func(c api.Cid) []crdt.Op { return []crdt.Op{unpinOp(lo, 1, 10, c)} },
			wantChanged: []bool{true}, wantFound: true, wantCount: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, oneByOne := range []bool{false, true} {
				s, _ := openTemp(t)
				c := mkCid(t, 1)
				ops := tc.ops(c)
				var changed []bool
				if oneByOne {
					for _, op := range ops {
						changed = append(changed, mustApply(t, s, op)...)
					}
				} else {
					changed = mustApply(t, s, ops...)
				}
				if !reflect.DeepEqual(changed, tc.wantChanged) {
					t.Fatalf("oneByOne=%v changed=%v want %v", oneByOne, changed, tc.wantChanged)
				}
				p, pinned, err := s.GetPin(c)
				if err != nil || pinned != tc.wantPinned {
					t.Fatalf("GetPin: pinned=%v err=%v, want pinned=%v", pinned, err, tc.wantPinned)
				}
				if pinned && (p.Name != tc.wantName || p.Cid != c) {
					t.Fatalf("pin %+v, want name %q", p, tc.wantName)
				}
				rec, found, err := s.Get(c)
				if err != nil || found != tc.wantFound || rec.Deleted == tc.wantPinned {
					t.Fatalf("Get: %+v found=%v err=%v", rec, found, err)
				}
				if n, _ := s.CountPins(); n != tc.wantCount {
					t.Fatalf("CountPins=%d want %d", n, tc.wantCount)
				}
			}
		})
	}
}

// Gaps filled inside one chunk: the ops above a gap are seen among the chunk's own pending
// writes, and the vector stops at the next gap; a long run above a gap (a missed first gossip
// batch) counts once the gap fills, and another origin's ops never do.
func TestApplyGapFilledWithinChunk(t *testing.T) {
	s, _ := openTemp(t)
	p, q := newPeer(t, 1), newPeer(t, 2)
	c := func(i int) api.Cid { return mkCid(t, i) }
	mustApply(t, s, pinOp(t, p, 3, 3, c(3), ""), pinOp(t, p, 4, 4, c(4), ""), pinOp(t, p, 6, 6, c(6), ""),
		pinOp(t, p, 1, 1, c(1), ""), pinOp(t, p, 2, 2, c(2), ""))
	if vv, _ := s.VersionVector(); vv[p] != 4 {
		t.Fatalf("vv=%d want 4 (3 and 4 pending in the same chunk, 5 missing)", vv[p])
	}
	var ops []crdt.Op
	for i := 7; i <= 3000; i++ {
		ops = append(ops, pinOp(t, p, uint64(i), crdt.HLC(i), c(i), ""))
	}
	for i := 1; i <= 10; i++ {
		ops = append(ops, pinOp(t, q, uint64(i+1), crdt.HLC(i), c(10000+i), "")) // q misses its seq 1
	}
	mustApply(t, s, ops...)
	if vv, _ := s.VersionVector(); vv[p] != 4 || vv[q] != 0 {
		t.Fatalf("vv p=%d q=%d, want 4 and 0 before the gaps fill", vv[p], vv[q])
	}
	mustApply(t, s, pinOp(t, p, 5, 5, c(5), ""))
	if vv, _ := s.VersionVector(); vv[p] != 3000 || vv[q] != 0 {
		t.Fatalf("vv p=%d q=%d, want 3000 and 0", vv[p], vv[q])
	}
}

func TestApplyGapAndVersionVector(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	c := func(i int) api.Cid { return mkCid(t, i) }
	mustApply(t, s, pinOp(t, p, 1, 1, c(1), ""), pinOp(t, p, 2, 2, c(2), ""))
	// seqs 4 and 5 arrive before 3: stored and applied, not counted.
	ch := mustApply(t, s, pinOp(t, p, 5, 5, c(5), ""), pinOp(t, p, 4, 4, c(4), ""))
	if !ch[0] || !ch[1] {
		t.Fatalf("ops after a gap must be applied: %v", ch)
	}
	vv, _ := s.VersionVector()
	if vv[p] != 2 {
		t.Fatalf("vv=%d want 2 (stops at the gap)", vv[p])
	}
	if last, _ := s.LastSeq(p); last != 5 {
		t.Fatalf("LastSeq=%d want 5", last)
	}
	if n, _ := s.CountPins(); n != 4 {
		t.Fatalf("CountPins=%d want 4", n)
	}
	// A duplicate above the gap is skipped.
	if ch := mustApply(t, s, pinOp(t, p, 4, 4, c(4), "")); ch[0] {
		t.Fatal("duplicate after a gap applied twice")
	}
	// Filling the gap advances the vector over everything stored.
	mustApply(t, s, pinOp(t, p, 3, 3, c(3), ""))
	vv, _ = s.VersionVector()
	if vv[p] != 5 {
		t.Fatalf("vv=%d want 5 after filling the gap", vv[p])
	}
	var seqs []uint64
	if err := s.OpsFrom(t.Context(), p, 2, func(op crdt.Op) error { seqs = append(seqs, op.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seqs, []uint64{2, 3, 4, 5}) {
		t.Fatalf("OpsFrom(2)=%v", seqs)
	}
	if mc, _ := s.MaxClock(); mc != 5 {
		t.Fatalf("MaxClock=%d want 5", mc)
	}
}

func TestApplyRejectsInvalidOps(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	good := pinOp(t, p, 1, 1, mkCid(t, 1), "")
	bad := []crdt.Op{
		{Origin: p, Seq: 0, Clock: 1, Kind: crdt.OpUnpin, Cid: mkCid(t, 2)},
		{Seq: 1, Clock: 1, Kind: crdt.OpUnpin, Cid: mkCid(t, 2)},
		{Origin: p, Seq: 2, Kind: crdt.OpUnpin},
		{Origin: p, Seq: 2, Kind: crdt.OpPin, Cid: mkCid(t, 2)},
		{Origin: p, Seq: 2, Kind: 9, Cid: mkCid(t, 2)},
	}
	for i, b := range bad {
		if _, err := s.Apply([]crdt.Op{good, b}); !errors.Is(err, api.ErrInvalid) {
			t.Fatalf("case %d: err=%v, want ErrInvalid", i, err)
		}
	}
	if n, _ := s.CountPins(); n != 0 {
		t.Fatal("a rejected Apply wrote something")
	}
}

func TestApplySplitsTooBigTransactions(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := newPeer(t, 1)
	big := strings.Repeat("x", 2000)
	var ops []crdt.Op
	for i := 1; i <= 1500; i++ {
		ops = append(ops, pinOp(t, p, uint64(i), crdt.HLC(i), mkCid(t, i), big))
	}
	ch := mustApply(t, s, ops...)
	for i, c := range ch {
		if !c {
			t.Fatalf("op %d not applied", i)
		}
	}
	if n, _ := s.CountPins(); n != 1500 {
		t.Fatalf("CountPins=%d", n)
	}
	if vv, _ := s.VersionVector(); vv[p] != 1500 {
		t.Fatalf("vv=%d", vv[p])
	}
}

// Any order of the same ops, with duplicates, converges to the same pinset and vector.
func TestApplyConvergesInAnyOrder(t *testing.T) {
	ps := sortedPeers(t, 3)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 5; round++ {
		var ops []crdt.Op
		for _, p := range ps {
			for seq := uint64(1); seq <= 150; seq++ {
				c := mkCid(t, rng.IntN(40))
				clock := crdt.HLC(rng.IntN(100)) // frequent ties
				if rng.IntN(3) == 0 {
					ops = append(ops, unpinOp(p, seq, clock, c))
				} else {
					ops = append(ops, pinOp(t, p, seq, clock, c, p.String()[:8]))
				}
			}
		}
		shuffled := func() []crdt.Op {
			out := append([]crdt.Op(nil), ops...)
			for i := 0; i < len(ops)/4; i++ { // duplicates
				out = append(out, ops[rng.IntN(len(ops))])
			}
			rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
			return out
		}
		a, _ := openTemp(t)
		b, _ := openTemp(t)
		for i, st := range []*Store{a, b} {
			in := shuffled()
			if i == 0 {
				in = append([]crdt.Op(nil), ops...) // in order: long runs in the op log, split by replacements
			}
			for len(in) > 0 {
				n := min(len(in), 1+rng.IntN(60))
				mustApply(t, st, in[:n]...)
				in = in[n:]
			}
		}
		if da, db := dumpPins(t, a), dumpPins(t, b); da != db {
			t.Fatalf("round %d: pinsets differ:\n%s\nvs\n%s", round, da, db)
		}
		va, _ := a.VersionVector()
		vb, _ := b.VersionVector()
		want := map[peer.ID]uint64{ps[0]: 150, ps[1]: 150, ps[2]: 150}
		if !maps.Equal(va, want) || !maps.Equal(vb, want) {
			t.Fatalf("round %d: vectors %v / %v", round, va, vb)
		}
		for _, st := range []*Store{a, b} { // every op reads back from the log, whatever its form
			for pi, p := range ps {
				checkOps(t, st, p, 1, ops[pi*150:(pi+1)*150])
			}
		}
		na, _ := a.CountPins()
		nb, _ := b.CountPins()
		lines := strings.Count(dumpPins(t, a), "\n")
		if na != nb || na != lines {
			t.Fatalf("round %d: counts %d / %d, listed %d", round, na, nb, lines)
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, SyncWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, 1)
	mustApply(t, s, pinOp(t, p, 1, 100, mkCid(t, 1), "one"), pinOp(t, p, 2, 200, mkCid(t, 2), "two"),
		unpinOp(p, 3, 300, mkCid(t, 2)), pinOp(t, p, 5, 500, mkCid(t, 5), "five"))
	if err := s.SetPublished(p, 2); err != nil {
		t.Fatal(err)
	}
	before := dumpPins(t, s)
	s = reopen(t, s, dir)
	if after := dumpPins(t, s); after != before {
		t.Fatalf("pins changed across reopen:\n%s\nvs\n%s", before, after)
	}
	n, _ := s.CountPins()
	mc, _ := s.MaxClock()
	vv, _ := s.VersionVector()
	last, _ := s.LastSeq(p)
	pub, _ := s.Published(p)
	if n != 2 || mc != 500 || vv[p] != 3 || last != 5 || pub != 2 {
		t.Fatalf("after reopen: count=%d maxclock=%d vv=%d last=%d published=%d", n, mc, vv[p], last, pub)
	}
	// The gap still fills after reopen.
	mustApply(t, s, pinOp(t, p, 4, 400, mkCid(t, 4), "four"))
	if vv, _ := s.VersionVector(); vv[p] != 5 {
		t.Fatalf("vv=%d want 5", vv[p])
	}
}

func TestPublishedNeverMovesBack(t *testing.T) {
	s, _ := openTemp(t)
	p, q := newPeer(t, 1), newPeer(t, 2)
	if pub, _ := s.Published(p); pub != 0 {
		t.Fatalf("fresh Published=%d", pub)
	}
	if last, _ := s.LastSeq(p); last != 0 {
		t.Fatalf("fresh LastSeq=%d", last)
	}
	s.SetPublished(p, 7)
	s.SetPublished(p, 3)
	if pub, _ := s.Published(p); pub != 7 {
		t.Fatalf("Published=%d want 7", pub)
	}
	if pub, _ := s.Published(q); pub != 0 {
		t.Fatalf("other origin Published=%d", pub)
	}
}

func TestDropTombstonesAndTrim(t *testing.T) {
	s, _ := openTemp(t)
	ps := sortedPeers(t, 2)
	a, b := ps[0], ps[1]
	mustApply(t, s,
		pinOp(t, a, 1, 1, mkCid(t, 1), ""), unpinOp(a, 2, 2, mkCid(t, 1)), // tombstone a/2
		pinOp(t, a, 3, 3, mkCid(t, 3), ""), unpinOp(a, 4, 4, mkCid(t, 3)), // tombstone a/4
		unpinOp(b, 1, 5, mkCid(t, 9)), // tombstone b/1
		pinOp(t, b, 2, 6, mkCid(t, 10), ""),
	)
	n, err := s.DropTombstones(t.Context(), map[peer.ID]uint64{a: 3, b: 1})
	if err != nil || n != 2 {
		t.Fatalf("dropped %d (%v), want 2", n, err)
	}
	if _, found, _ := s.Get(mkCid(t, 1)); found {
		t.Fatal("stable tombstone kept")
	}
	if rec, found, _ := s.Get(mkCid(t, 3)); !found || !rec.Deleted {
		t.Fatal("tombstone not yet seen by all was dropped")
	}
	if _, ok, _ := s.GetPin(mkCid(t, 10)); !ok {
		t.Fatal("live pin dropped")
	}
	// Op logs trimmed up to upTo: asking for trimmed ops says so; the rest is served.
	if err := s.OpsFrom(t.Context(), a, 2, func(crdt.Op) error { return nil }); !errors.Is(err, ErrTrimmed) {
		t.Fatalf("OpsFrom trimmed range: %v", err)
	}
	var seqs []uint64
	if err := s.OpsFrom(t.Context(), a, 4, func(op crdt.Op) error { seqs = append(seqs, op.Seq); return nil }); err != nil || !reflect.DeepEqual(seqs, []uint64{4}) {
		t.Fatalf("OpsFrom(4)=%v %v", seqs, err)
	}
	if tr, _ := s.TrimmedTo(a); tr != 3 {
		t.Fatalf("TrimmedTo=%d", tr)
	}
	// Trimmed ops arriving again are still duplicates.
	if ch := mustApply(t, s, pinOp(t, a, 1, 1, mkCid(t, 1), "")); ch[0] {
		t.Fatal("trimmed op re-applied")
	}
	if _, found, _ := s.Get(mkCid(t, 1)); found {
		t.Fatal("trimmed pin op resurrected the CID")
	}
	vv, _ := s.VersionVector()
	if vv[a] != 4 || vv[b] != 2 {
		t.Fatalf("vv changed by trimming: %v", vv)
	}
}

func TestBackupAndLoad(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	for i := 1; i <= 50; i++ {
		mustApply(t, s, pinOp(t, p, uint64(i), crdt.HLC(i), mkCid(t, i), ""))
	}
	mustApply(t, s, unpinOp(p, 51, 51, mkCid(t, 1)))
	dst := filepath.Join(t.TempDir(), "backups", "pinset.bak")
	if err := s.Backup(dst); err != nil {
		t.Fatal(err)
	}
	r, _ := openTemp(t)
	if err := r.LoadBackup(dst); err != nil {
		t.Fatal(err)
	}
	if dumpPins(t, r) != dumpPins(t, s) {
		t.Fatal("restored pins differ")
	}
	if n, _ := r.CountPins(); n != 49 {
		t.Fatalf("restored count %d", n)
	}
	if vv, _ := r.VersionVector(); vv[p] != 51 {
		t.Fatalf("restored vv %v", vv)
	}
	// The loaded records are in the pin key filter once it reloads: an op older than a
	// restored record or tombstone still loses to it.
	waitKeysLoaded(t, r)
	q := newPeer(t, 2)
	if ch := mustApply(t, r, pinOp(t, q, 1, 0, mkCid(t, 1), "stale"), pinOp(t, q, 2, 0, mkCid(t, 2), "stale")); ch[0] || ch[1] {
		t.Fatalf("ops older than restored records won: %v", ch)
	}
}

func TestIterationStopsOnContextAndError(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	var ops []crdt.Op
	for i := 1; i <= 3000; i++ {
		ops = append(ops, pinOp(t, p, uint64(i), crdt.HLC(i), mkCid(t, i), ""))
	}
	mustApply(t, s, ops...)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.IteratePins(ctx, func(api.Pin) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled iteration: %v", err)
	}
	stop := errors.New("stop")
	seen := 0
	err := s.IterateRecords(t.Context(), func(Record) error { seen++; return stop })
	if !errors.Is(err, stop) || seen != 1 {
		t.Fatalf("fn error: %v after %d", err, seen)
	}
	n := 0
	if err := s.IteratePins(t.Context(), func(p api.Pin) error {
		if !p.Cid.Defined() {
			t.Fatal("decoded pin without CID")
		}
		n++
		return nil
	}); err != nil || n != 3000 {
		t.Fatalf("IteratePins: %d, %v", n, err)
	}
}

// Reads run concurrently with Apply and always see whole commits.
func TestConcurrentReadsDuringApply(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for {
			select {
			case <-done:
				return
			default:
			}
			n := 0
			if err := s.IteratePinsJSON(context.Background(), func(api.Cid, []byte) error { n++; return nil }); err != nil {
				errc <- err
				return
			}
			if n%100 != 0 { // Apply commits 100 pins at a time
				errc <- errors.New("iteration saw a partial Apply")
				return
			}
			s.VersionVector()
			s.CountPins()
		}
	}()
	for i := 0; i < 30; i++ {
		var ops []crdt.Op
		for j := 1; j <= 100; j++ {
			seq := uint64(i*100 + j)
			ops = append(ops, pinOp(t, p, seq, crdt.HLC(seq), mkCid(t, int(seq)), ""))
		}
		mustApply(t, s, ops...)
	}
	close(done)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountPins(); n != 3000 {
		t.Fatalf("CountPins=%d", n)
	}
}

// A kill between Badger creating a memtable log and sizing it leaves a zero-byte .mem file
// that Badger refuses to open; the store removes it (it holds no write) and opens with its
// pins.
func TestOpenAfterAnEmptyMemtableLog(t *testing.T) {
	s, dir := openTemp(t)
	p := newPeer(t, 1)
	mustApply(t, s, pinOp(t, p, 1, 1, mkCid(t, 1), "kept"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "99999.mem"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("open with an empty memtable log: %v", err)
	}
	defer s.Close()
	if n, _ := s.CountPins(); n != 1 {
		t.Fatalf("%d pins after the reopen, want 1", n)
	}
}
