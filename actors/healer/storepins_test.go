package healer

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/persistence"
)

// TestPlacementOfTombstones: the state sync unpins from the node the CIDs Placement finds and
// places elsewhere. A held tombstone (over a live record of this peer's) is found, so a pin
// this peer made is unpinned even when the tracker never heard of the unpin (a crash); an
// unheld one (over no record) reads as no record, so the node's own pin is left alone.
func TestPlacementOfTombstones(t *testing.T) {
	st, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	origin := peer.ID("origin")
	held, unheld := cidOf(t, 1), cidOf(t, 2)
	if _, err := st.Apply([]crdt.Op{
		{Origin: origin, Seq: 1, Clock: 10, Kind: crdt.OpPin, Cid: held, PinJSON: []byte(`{"cid":"` + held.String() + `","allocations":[]}`)},
		{Origin: origin, Seq: 2, Clock: 20, Kind: crdt.OpUnpin, Cid: held},
		{Origin: origin, Seq: 3, Clock: 30, Kind: crdt.OpUnpin, Cid: unheld},
	}); err != nil {
		t.Fatal(err)
	}
	pins := StorePins{Store: st, Self: peer.ID("self")}
	if found, here, err := pins.Placement(held); err != nil || !found || here {
		t.Fatalf("held tombstone: found %v here %v err %v; want found, not here", found, here, err)
	}
	if found, here, err := pins.Placement(unheld); err != nil || found || here {
		t.Fatalf("unheld tombstone: found %v here %v err %v; want not found", found, here, err)
	}
}
