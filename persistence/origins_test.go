package persistence

import (
	"context"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// The origin counters kept in memory follow every writer of v/ and l/: group commits, a gap
// filled later, and a version vector raised by a snapshot. Each step checks which ops count as
// new against a store reopened from disk, which has no counters in memory.
func TestOriginCountersFollowWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, 1)
	apply := func(seq uint64) bool {
		t.Helper()
		changed, err := s.Apply([]crdt.Op{pinOp(t, p, seq, crdt.HLC(100+seq), mkCid(t, int(seq)), "x")})
		if err != nil {
			t.Fatal(err)
		}
		return changed[0].Won()
	}
	check := func(step string, contig, last uint64) {
		t.Helper()
		if c := s.origins[p]; c.contig != contig || c.last != last {
			t.Fatalf("%s: counters in memory %+v, want contig %d last %d", step, c, contig, last)
		}
		vv, err := s.VersionVector()
		if err != nil {
			t.Fatal(err)
		}
		if vv[p] != contig {
			t.Fatalf("%s: stored version vector %d, want %d", step, vv[p], contig)
		}
	}
	for seq := uint64(1); seq <= 3; seq++ {
		if !apply(seq) {
			t.Fatalf("op %d not applied", seq)
		}
	}
	check("three ops", 3, 3)
	if !apply(6) { // above a gap
		t.Fatal("op 6 not applied")
	}
	check("an op above a gap", 3, 6)
	if apply(2) || apply(6) {
		t.Fatal("a duplicate was applied")
	}
	for _, seq := range []uint64{4, 5} { // the gap fills; contig moves over 6
		if !apply(seq) {
			t.Fatalf("op %d not applied", seq)
		}
	}
	check("the gap filled", 6, 6)
	if err := s.RaiseVersionVector(context.Background(), map[peer.ID]uint64{p: 10}); err != nil {
		t.Fatal(err)
	}
	if apply(8) {
		t.Fatal("an op covered by the raised version vector was applied")
	}
	check("after the raise", 10, 10)
	if !apply(11) {
		t.Fatal("op 11 not applied")
	}
	check("after the raise and a new op", 11, 11)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.origins) != 0 {
		t.Fatal("a reopened store starts with counters in memory")
	}
	if apply(11) || !apply(12) {
		t.Fatal("after reopening: duplicate or new op misjudged")
	}
	check("reopened", 12, 12)
}
