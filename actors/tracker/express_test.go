package tracker

import (
	"fmt"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// A pin of a root whose blocks were pushed here (Expect) is pinned at once although every slot
// runs a stalled pin and the window is full; an unexpected pin waits its turn.
func TestExpectedRootSkipsTheQueues(t *testing.T) {
	cfg := testConfig()
	cfg.QueueWindow = 4
	tr, b := newTestTracker(t, cfg)
	var stalled []api.Pin
	for i := range 6 {
		p := testPin(t, fmt.Sprint("stalled", i))
		b.StallPin(p.Cid)
		stalled = append(stalled, p)
		if err := tr.Track(ctx5s(t), p); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, p := range stalled {
			b.Release(p.Cid)
		}
	})
	waitFor(t, "every slot busy", func() (bool, string) {
		return b.PinCalls(stalled[0].Cid) == 1 && b.PinCalls(stalled[1].Cid) == 1, fmt.Sprint(b.PinCalls(stalled[0].Cid), b.PinCalls(stalled[1].Cid))
	})
	added, other := testPin(t, "added"), testPin(t, "not pushed")
	tr.Expect(added.Cid)
	if err := tr.Track(ctx5s(t), other); err != nil {
		t.Fatal(err)
	}
	// As a pinset change (the add commits its pin): the path pins of other peers take.
	js, err := api.MarshalPin(&added)
	if err != nil {
		t.Fatal(err)
	}
	op := crdt.Op{Origin: selfID, Seq: 1, Clock: 1, Kind: crdt.OpPin, Cid: added.Cid, PinJSON: js}
	tr.system.Root.Send(tr.PID(), messages.PinsetChanged{Ops: []crdt.Op{op}})
	waitStatus(t, tr, added, api.TrackerStatusPinned)
	if b.PinCalls(other.Cid) != 0 {
		t.Fatal("a pin nobody pushed skipped the queue")
	}
}
