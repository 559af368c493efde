package pinset

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/persistence"
)

// unheldHeard is, per CID, whether the last unpin the subscriber heard of it was unheld.
func (e *events) unheldHeard() map[string]bool {
	settle(e.t, e.sys, e.subs)
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]bool{}
	for _, ev := range e.evs {
		for i, op := range ev.Ops {
			if op.Kind == crdt.OpUnpin {
				out[op.Cid.KeyString()] = i < len(ev.Unheld) && ev.Unheld[i]
			}
		}
	}
	return out
}

// The subscribers hear which unpins are unheld (messages.PinsetChanged.Unheld): a tombstone
// over no record, from an op or a snapshot page, and such a tombstone pruned later; not a
// tombstone over a live record, nor its pruning.
func TestUnheldUnpinsAreTold(t *testing.T) {
	self, other := testPeer(t), testPeer(t)
	ev := &events{}
	p, _ := spawnReal(t, self, ev)
	ctx := t.Context()
	pinY := pinOpOf(t, other, 1, crdt.MakeHLC(1000, 0), 2)
	unY := crdt.Op{Origin: other, Seq: 2, Clock: crdt.MakeHLC(1001, 0), Kind: crdt.OpUnpin, Cid: pinY.Cid}
	unX := crdt.Op{Origin: other, Seq: 3, Clock: crdt.MakeHLC(1002, 0), Kind: crdt.OpUnpin, Cid: testPin(1).Cid}
	if err := p.ApplyRemoteWait(ctx, []crdt.Op{pinY, unY, unX}); err != nil {
		t.Fatal(err)
	}
	heard := ev.unheldHeard()
	if !heard[unX.Cid.KeyString()] || heard[unY.Cid.KeyString()] {
		t.Fatalf("ops: unheld heard %v; want x's unpin unheld, y's not", heard)
	}

	unZ := crdt.Op{Origin: other, Seq: 9, Clock: crdt.MakeHLC(1009, 0), Kind: crdt.OpUnpin, Cid: testPin(3).Cid}
	page := &InstallSnapshotPage{Records: []persistence.Record{{Op: unZ, Deleted: true}},
		Present: []api.Cid{unX.Cid, unY.Cid, unZ.Cid}, VV: map[peer.ID]uint64{other: 9}} // x and y stay
	if err := p.InstallSnapshotPage(ctx, page); err != nil {
		t.Fatal(err)
	}
	if heard := ev.unheldHeard(); !heard[unZ.Cid.KeyString()] || len(heard) != 3 {
		t.Fatalf("snapshot: unheld heard %v; want z's unpin unheld", heard)
	}

	// A later page without x and y prunes them (the sender collected their tombstones).
	ev.mu.Lock()
	ev.evs = nil
	ev.mu.Unlock()
	page = &InstallSnapshotPage{Records: []persistence.Record{{Op: unZ, Deleted: true}}, Present: []api.Cid{unZ.Cid}, VV: map[peer.ID]uint64{other: 9}}
	if err := p.InstallSnapshotPage(ctx, page); err != nil {
		t.Fatal(err)
	}
	heard = ev.unheldHeard()
	if len(heard) != 2 || !heard[unX.Cid.KeyString()] || heard[unY.Cid.KeyString()] {
		t.Fatalf("prune: unheld heard %v; want x's unpin unheld, y's not", heard)
	}
}
