package tracker

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// TestUnheldUnpinLeavesNodePin: an unheld unpin (messages.PinsetChanged.Unheld) of a CID the
// window does not hold leaves the IPFS node's pin of it alone (the operator's own); one of a
// CID in flight here still cancels that pin and unpins.
func TestUnheldUnpinLeavesNodePin(t *testing.T) {
	tr, b := newTestTracker(t, testConfig())
	own, flip, here := testPin(t, "own"), testPin(t, "flip"), testPin(t, "here")
	if err := b.Pin(ctx5s(t), own.Cid, api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	pinOp := func(p api.Pin) crdt.Op {
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return crdt.Op{Kind: crdt.OpPin, Cid: p.Cid, PinJSON: js}
	}
	unpinOp := func(p api.Pin) crdt.Op { return crdt.Op{Kind: crdt.OpUnpin, Cid: p.Cid} }
	b.StallPin(flip.Cid) // the pin is still running when the unpin arrives
	tr.system.Root.Send(tr.PID(), messages.PinsetChanged{
		Ops:    []crdt.Op{unpinOp(own), pinOp(flip), unpinOp(flip), pinOp(here)},
		Unheld: []bool{true, false, true},
	})
	waitStatus(t, tr, here, api.TrackerStatusPinned) // the event was handled
	waitFor(t, "the pin in flight to be unpinned", func() (bool, string) {
		return !b.Pinned(flip.Cid) && tr.QueueLen() == 0, fmt.Sprintf("flip=%v queue=%d", b.Pinned(flip.Cid), tr.QueueLen())
	})
	if !b.Pinned(own.Cid) || b.UnpinCalls(own.Cid) != 0 {
		t.Fatalf("the node's own pin was unpinned (%d calls)", b.UnpinCalls(own.Cid))
	}
}
