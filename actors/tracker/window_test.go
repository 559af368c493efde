package tracker

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/messages"
)

// window asks the tracker actor for its window (a message-level query): items held in
// memory, and how many of them run.
func window(t *testing.T, tr *Tracker) (held, running int) {
	t.Helper()
	res, err := tr.request(ctx5s(t), listQuery{}, DefaultRequestTimeout)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.(listReply).items {
		held++
		if it.info.Status == api.TrackerStatusPinning {
			running++
		}
	}
	return held, running
}

// TestWindowPagesTheQueue: with a window of 4, forty queued pins are held 4 at a time and the
// rest paged from Badger in FIFO order as slots free; a paged pin shows pin_queued, an untrack
// of a paged pin turns it into an unpin, and the queue drains completely.
func TestWindowPagesTheQueue(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins, cfg.QueueWindow = 2, 4
	tr, b := newTestTracker(t, cfg)
	var pins []api.Pin
	for i := 0; i < 40; i++ {
		p := testPin(t, fmt.Sprint("w", i))
		b.StallPin(p.Cid)
		pins = append(pins, p)
	}
	if err := tr.TrackMany(ctx5s(t), pins); err != nil {
		t.Fatal(err)
	}
	if n := tr.QueueLen(); n != 40 {
		t.Fatalf("queue len %d, want 40 (counted on the durable queue)", n)
	}
	waitFor(t, "window full, 2 running", func() (bool, string) {
		h, r := window(t, tr)
		return h == 4 && r == 2, fmt.Sprintf("held=%d running=%d", h, r)
	})
	for i := 0; i < 2; i++ { // FIFO
		if s := status(t, tr, pins[i]).Status; s != api.TrackerStatusPinning {
			t.Fatalf("pin %d: %s", i, s)
		}
	}
	if s := status(t, tr, pins[39]).Status; s != api.TrackerStatusPinQueued {
		t.Fatalf("paged pin: %s", s)
	}
	listed := 0
	if err := tr.InFlight(ctx5s(t), func(api.Cid, api.PinInfoShort) error { listed++; return nil }); err != nil || listed != 40 {
		t.Fatalf("in flight lists %d (%v), want 40", listed, err)
	}
	if err := tr.Untrack(ctx5s(t), pins[30].Cid); err != nil {
		t.Fatal(err)
	}
	if pi, _ := tr.StatusUnknown(ctx5s(t), pins[30].Cid); pi.Status != api.TrackerStatusUnpinQueued {
		t.Fatalf("untracked paged pin: %s", pi.Status)
	}
	b.ClearFaults()
	waitFor(t, "all settled", func() (bool, string) {
		if h, _ := window(t, tr); h > 4 {
			t.Fatalf("window holds %d items, bound 4", h)
		}
		return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen())
	})
	for i, p := range pins {
		want := api.TrackerStatusPinned
		if i == 30 {
			want = api.TrackerStatusUnpinned
			if pi, _ := tr.StatusUnknown(ctx5s(t), p.Cid); pi.Status != want {
				t.Fatalf("pin 30: %s", pi.Status)
			}
			continue
		}
		waitStatus(t, tr, p, want)
	}
}

// TestQueueSurvivesRestart: queued work beyond the window is in Badger, so a new tracker on the
// same store finishes what the stopped one had queued; the window's memory-only items (the
// first ones, admitted while nothing waited in Badger) are the state sync's to track again.
func TestQueueSurvivesRestart(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins, cfg.QueueWindow = 2, 3
	q := testQueue(t)
	b1 := fake.New()
	tr1, err := New(quietSystem().Root, cfg, b1, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	var pins []api.Pin
	for i := 0; i < 10; i++ {
		p := testPin(t, fmt.Sprint("r", i))
		b1.StallPin(p.Cid)
		pins = append(pins, p)
	}
	if err := tr1.TrackMany(ctx5s(t), pins); err != nil {
		t.Fatal(err)
	}
	tr1.Stop()
	if n := q.QueueLen(); n != 10-cfg.QueueWindow { // before the new tracker starts working it off
		t.Fatalf("durable queue after stop: %d, want %d", n, 10-cfg.QueueWindow)
	}
	b2 := fake.New()
	tr2, err := New(quietSystem().Root, cfg, b2, q, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr2.Stop)
	// The startup state sync tracks the memory-only items again; the rest comes from Badger.
	if err := tr2.TrackMany(ctx5s(t), pins[:cfg.QueueWindow]); err != nil {
		t.Fatal(err)
	}
	for _, p := range pins {
		waitStatus(t, tr2, p, api.TrackerStatusPinned)
	}
	waitFor(t, "queue drained", func() (bool, string) { return tr2.QueueLen() == 0, fmt.Sprint(tr2.QueueLen()) })
}

// TestPinsetChangedReconciles sends the tracker a PinsetChanged event, as the pinset actor
// does: a pin allocated here is pinned, a pin allocated elsewhere and an unpin are unpinned,
// and a pin followed by an unpin of one CID in the same event ends unpinned (order kept).
func TestPinsetChangedReconciles(t *testing.T) {
	tr, b := newTestTracker(t, testConfig())
	here, elsewhere, gone, flip := testPin(t, "here"), testPin(t, "elsewhere"), testPin(t, "gone"), testPin(t, "flip")
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := peer.IDFromPublicKey(pub) // a real ID: the pin goes through its JSON form
	if err != nil {
		t.Fatal(err)
	}
	elsewhere.Allocations = []peer.ID{other}
	for _, p := range []api.Pin{elsewhere, gone} {
		if err := b.Pin(ctx5s(t), p.Cid, api.PinModeRecursive, nil); err != nil {
			t.Fatal(err)
		}
	}
	op := func(kind crdt.OpKind, p api.Pin) crdt.Op {
		o := crdt.Op{Kind: kind, Cid: p.Cid}
		if kind == crdt.OpPin {
			o.PinJSON, _ = json.Marshal(p)
		}
		return o
	}
	b.StallPin(flip.Cid) // the pin is still running when the unpin arrives
	tr.system.Root.Send(tr.PID(), messages.PinsetChanged{Ops: []crdt.Op{
		op(crdt.OpPin, here), op(crdt.OpPin, elsewhere), op(crdt.OpUnpin, gone),
		op(crdt.OpPin, flip), op(crdt.OpUnpin, flip),
	}})
	waitStatus(t, tr, here, api.TrackerStatusPinned)
	waitFor(t, "unpins", func() (bool, string) {
		return !b.Pinned(elsewhere.Cid) && !b.Pinned(gone.Cid) && tr.QueueLen() == 0,
			fmt.Sprintf("elsewhere=%v gone=%v queue=%d", b.Pinned(elsewhere.Cid), b.Pinned(gone.Cid), tr.QueueLen())
	})
	if b.Pinned(flip.Cid) {
		t.Fatal("pin then unpin in one event left the CID pinned")
	}
	// The same through the facade used for snapshot installs.
	tr.Reconcile([]crdt.Op{op(crdt.OpUnpin, here)})
	waitFor(t, "reconciled unpin", func() (bool, string) { return !b.Pinned(here.Cid), "" })
}
