package persistence

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// One Apply of several chunks (pipelined: each chunk built while the previous is written)
// ends exactly as applying the same ops in calls of one chunk at most: records, change flags, version vectors,
// op logs and counters, also after a reopen. The ops repeat CIDs across chunks (a build that
// must wait for the chunk in flight), repeat whole ops across chunks (a duplicate of an op in
// flight), and arrive out of order (gaps filled forward over ops of the chunk in flight).
func TestApplyPipelinedChunksMatchSerial(t *testing.T) {
	ps := sortedPeers(t, 3)
	rng := rand.New(rand.NewPCG(7, 8))
	var ops []crdt.Op
	for seq := uint64(1); seq <= 2000; seq++ {
		for i, p := range ps {
			c := mkCid(t, int(seq)*3+i) // a CID of its own
			clock := crdt.HLC(rng.IntN(5000))
			if rng.IntN(4) == 0 {
				ops = append(ops, unpinOp(p, seq, clock, c))
			} else {
				ops = append(ops, pinOp(t, p, seq, clock, c, p.String()[:8]))
			}
		}
	}
	// Local swaps: gaps, some filled by a later chunk over ops of the chunk in flight.
	for i := range ops {
		if j := i + rng.IntN(300); j < len(ops) && rng.IntN(3) == 0 {
			ops[i], ops[j] = ops[j], ops[i]
		}
	}
	// One CID in two neighbouring chunks: the second build waits for the first's write.
	ops[applyChunk+100].Cid = ops[applyChunk-100].Cid
	ops[applyChunk+100].Kind, ops[applyChunk+100].PinJSON = crdt.OpPin, pinJSON(t, ops[applyChunk-100].Cid, "again")
	// Whole ops again, chunks later.
	ops = append(ops, ops[:50]...)
	waits := afterFlightWaits.Load()
	one, dir := openTemp(t)
	got := mustApply(t, one, ops...)
	if w := afterFlightWaits.Load() - waits; w != 1 {
		t.Fatalf("%d chunks waited for the one in flight, want the one that repeats a CID", w)
	}
	ref, _ := openTemp(t)
	var want []bool // in calls of one chunk at most: written one after the other
	for i := 0; i < len(ops); i += 100 {
		want = append(want, mustApply(t, ref, ops[i:min(i+100, len(ops))]...)...)
	}
	if !slices.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("changed[%d] = %v, serially %v (op %s/%d on %s)", i, got[i], want[i], ops[i].Origin, ops[i].Seq, ops[i].Cid)
			}
		}
	}
	compare := func(a, b *Store) {
		t.Helper()
		if da, db := dumpPins(t, a), dumpPins(t, b); da != db {
			t.Fatal("pinsets differ")
		}
		va, _ := a.VersionVector()
		vb, _ := b.VersionVector()
		if !maps.Equal(va, vb) || va[ps[0]] != 2000 {
			t.Fatalf("version vectors %v / %v", va, vb)
		}
		na, _ := a.CountPins()
		nb, _ := b.CountPins()
		ca, _ := a.MaxClock()
		cb, _ := b.MaxClock()
		if na != nb || ca != cb {
			t.Fatalf("counts %d / %d, clocks %d / %d", na, nb, ca, cb)
		}
		for _, p := range ps {
			if la, lb := opLog(t, a, p), opLog(t, b, p); la != lb {
				t.Fatalf("op logs of %s differ", p)
			}
		}
	}
	compare(one, ref)
	compare(reopen(t, one, dir), ref)
}

// opLog renders origin's op log.
func opLog(t *testing.T, s *Store, origin peer.ID) string {
	t.Helper()
	out := ""
	err := s.OpsFrom(context.Background(), origin, 1, func(op crdt.Op) error {
		out += fmt.Sprintf("%d %d %d %s %s\n", op.Seq, op.Clock, op.Kind, op.Cid, op.PinJSON)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
