package tracker

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/messages"
)

// A pin of a root whose blocks were pushed here (Expect) is pinned at once although every slot
// runs a stalled pin and the window is full; an unexpected pin waits its turn.
func TestExpectedRootSkipsTheQueues(t *testing.T) {
	cfg := testConfig()
	cfg.QueueWindow = 4
	tr, b := newTestTracker(t, cfg)
	fillSlots(t, tr, b, 6)
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

// A failing express pin leaves the express slot (it retries by the queue rules), so the next
// pushed root is not stuck behind its retries.
func TestFailingExpressPinLeavesTheSlot(t *testing.T) {
	cfg := testConfig()
	cfg.QueueWindow = 2
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = time.Hour, time.Hour // a retry in place would block
	tr, b := newTestTracker(t, cfg)
	fillSlots(t, tr, b, 3)
	broken, good := testPin(t, "pushed but broken"), testPin(t, "pushed")
	b.FailPin(broken.Cid, errors.New("ipfs: block not found"))
	for _, p := range []api.Pin{broken, good} {
		tr.Expect(p.Cid)
		if err := tr.Track(ctx5s(t), p); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(t, tr, good, api.TrackerStatusPinned)
	if info := status(t, tr, broken); info.Status != api.TrackerStatusPinError || info.AttemptCount != 1 {
		t.Fatalf("the failed express pin: %+v, want pin_error after 1 attempt, waiting for its retry", info)
	}
}

// Expecting a root again renews it and evicts nobody; a new root evicts the oldest when full.
func TestExpectedRootsAreBounded(t *testing.T) {
	a := &trackerActor{}
	for i := range maxExpected {
		a.onExpect(expectPin{cid: testCid(t, fmt.Sprint("root", i))})
	}
	a.onExpect(expectPin{cid: testCid(t, "root5")})
	if len(a.expected) != maxExpected || !a.isExpected(testCid(t, "root0")) {
		t.Fatalf("renewing a root evicted another: %d expected, root0 kept %v", len(a.expected), a.isExpected(testCid(t, "root0")))
	}
	a.onExpect(expectPin{cid: testCid(t, "new")})
	if len(a.expected) != maxExpected || !a.isExpected(testCid(t, "new")) {
		t.Fatalf("%d expected after a new root, it kept: %v", len(a.expected), a.isExpected(testCid(t, "new")))
	}
}

// fillSlots tracks n pins that stall on the node (released when the test ends) and waits
// until the first two, the test config's concurrent_pins, run.
func fillSlots(t *testing.T, tr *Tracker, b *fake.Backend, n int) {
	t.Helper()
	var stalled []api.Pin
	for i := range n {
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
}
