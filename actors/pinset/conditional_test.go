package pinset

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// A conditional change is written only while its CID's record is still the live one it was
// made from, and not after another op of its own batch on that CID; the others are dropped
// before they get a seq (no gap, nothing broadcast), and the commit succeeds without them.
func TestConditionalChangesWhoseRecordMovedOnAreDropped(t *testing.T) {
	sys := actor.NewActorSystem()
	x, y, z, gone := testPin(1), testPin(2), testPin(3), testPin(4)
	after := crdt.Rank{Base: 7}
	live := persistence.Record{Op: crdt.Op{Clock: 7, Kind: crdt.OpPin, Cid: x.Cid}}
	store := &memStore{records: map[string]persistence.Record{
		x.Cid.KeyString():    live,
		y.Cid.KeyString():    {Op: crdt.Op{Clock: 9, Kind: crdt.OpPin, Cid: y.Cid}},      // replaced since
		z.Cid.KeyString():    live,                                                       // but touched first below
		gone.Cid.KeyString(): {Op: crdt.Op{Clock: 7, Kind: crdt.OpUnpin}, Deleted: true}, // unpinned since
	}}
	var seen []crdt.Op
	subs := subscriber(t, sys, func(ev messages.PinsetChanged) { seen = append(seen, ev.Ops...) })
	p, _ := spawnIn(t, sys, store, subs)
	ops, err := p.Commit(t.Context(),
		messages.Change{Kind: crdt.OpUnpin, Pin: z},
		messages.Change{Kind: crdt.OpPin, Pin: x, After: after},
		messages.Change{Kind: crdt.OpPin, Pin: y, After: after},
		messages.Change{Kind: crdt.OpPin, Pin: z, After: after},
		messages.Change{Kind: crdt.OpUnpin, Pin: gone, After: after})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || ops[0].Cid != z.Cid || ops[1].Cid != x.Cid || ops[1].After != after {
		t.Fatalf("committed %+v; want z's plain unpin and x's conditional pin", ops)
	}
	if ops[1].Clock != after.Next().Clock() {
		t.Fatalf("the conditional op is stamped %d, want its rank %d (as a peer that knows no ranks orders it)", ops[1].Clock, after.Next().Clock())
	}
	if ops[0].Seq+1 != ops[1].Seq {
		t.Fatalf("seqs %d, %d: a dropped change left a gap", ops[0].Seq, ops[1].Seq)
	}
	settle(t, sys, subs)
	if len(seen) != 2 {
		t.Fatalf("subscribers told of %d ops, want 2", len(seen))
	}
}
