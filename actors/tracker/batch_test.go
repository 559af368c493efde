package tracker

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/testpeer"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// TestPinsetChangedBeyondTheWindowGoesInBatches: the CIDs of a pinset event that the window
// has no room for go into batch entries; meanwhile they show pin_queued; each is decided when
// paged in, from the pin's record as it is then (a pin unpinned meanwhile is unpinned, one
// moved elsewhere is not pinned), and the queue drains to nothing.
func TestPinsetChangedBeyondTheWindowGoesInBatches(t *testing.T) {
	cfg := testConfig()
	cfg.QueueWindow = 4
	tr, st, b, origin := storeTracker(t, cfg)
	seq := uint64(0)
	op := func(kind crdt.OpKind, p api.Pin) crdt.Op {
		seq++
		o := crdt.Op{Origin: origin, Seq: seq, Clock: crdt.HLC(seq), Kind: kind, Cid: p.Cid}
		if kind == crdt.OpPin {
			o.PinJSON, _ = json.Marshal(p)
		}
		return o
	}
	const n = 40
	pins := make([]api.Pin, n)
	ops := make([]crdt.Op, n)
	for i := range pins {
		pins[i] = testPin(t, fmt.Sprint("batch", i))
		ops[i] = op(crdt.OpPin, pins[i])
	}
	if _, err := st.Apply(ops); err != nil {
		t.Fatal(err)
	}
	for _, p := range pins[:cfg.QueueWindow] {
		b.StallPin(p.Cid) // the window stays full until released
	}
	unpinned, moved := pins[30], pins[31]
	if err := b.Pin(ctx5s(t), unpinned.Cid, api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	// The even ops made their CID's first record; the odd ones replaced a record.
	created, replaced := make([]bool, n), uint64(0)
	for i := range created {
		created[i] = i%2 == 0
		if !created[i] && i >= cfg.QueueWindow {
			replaced++
		}
	}
	tr.system.Root.Send(tr.PID(), messages.PinsetChanged{Ops: ops, Created: created})
	waitFor(t, "batch entries written", func() (bool, string) {
		return st.QueueBatched() == n-cfg.QueueWindow, fmt.Sprint(st.QueueBatched())
	})
	// Queued without a change told: the status digest is told to reconcile (Unnoted), unless
	// the CID had no record before, so no status digest entry that could now be wrong.
	if got := tr.Unnoted(); got != replaced {
		t.Fatalf("Unnoted = %d, want the %d CIDs of the batch entries that replaced a record", got, replaced)
	}
	waitStatus(t, tr, pins[20], api.TrackerStatusPinQueued)
	// A state sync's view: the window's items and the batch entries' CIDs, nothing else.
	held, err := tr.TrackedSet(ctx5s(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pins {
		if !held.HasString(p.Cid.KeyString()) {
			t.Fatalf("pin %d is not in TrackedSet", i)
		}
	}
	if other := testPin(t, "never tracked"); held.HasString(other.Cid.KeyString()) || held.Len() != n {
		t.Fatalf("TrackedSet holds %d CIDs (an untracked one: %v), want %d", held.Len(), held.HasString(other.Cid.KeyString()), n)
	}
	// Changes the tracker is not told of: paging reads the records as they are then.
	moved.Allocations = []peer.ID{origin}
	if _, err := st.Apply([]crdt.Op{op(crdt.OpUnpin, unpinned), op(crdt.OpPin, moved)}); err != nil {
		t.Fatal(err)
	}
	for _, p := range pins[:cfg.QueueWindow] {
		b.Release(p.Cid)
	}
	waitFor(t, "queue drained", func() (bool, string) {
		return tr.QueueLen() == 0 && st.QueueBatched() == 0, fmt.Sprintf("queue %d batched %d", tr.QueueLen(), st.QueueBatched())
	})
	for i, p := range pins {
		want := i != 30 && i != 31
		if b.Pinned(p.Cid) != want {
			t.Fatalf("pin %d: pinned %v, want %v", i, b.Pinned(p.Cid), want)
		}
	}
	if b.PinCalls(moved.Cid) != 0 {
		t.Fatal("a pin moved elsewhere before it was paged in was pinned")
	}
}

// TestBatchEntryKeptUntilItsItemsSettle: a batch entry paged into the window stays in the
// durable queue until its last item settled, so a tracker that restarts meanwhile (a crash)
// pages its unsettled items in again.
func TestBatchEntryKeptUntilItsItemsSettle(t *testing.T) {
	cfg := testConfig()
	cfg.QueueWindow = 4
	st := testQueue(t)
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, st, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	pins, ops := storedPins(t, st, "kept", 12)
	for _, p := range pins[4:8] {
		b.StallPin(p.Cid) // the first batch entry's items never settle in this tracker
	}
	tr.system.Root.Send(tr.PID(), messages.PinsetChanged{Ops: ops})
	for _, p := range pins[:4] {
		waitStatus(t, tr, p, api.TrackerStatusPinned)
	}
	waitFor(t, "first batch entry paged in and kept", func() (bool, string) {
		return b.PinCalls(pins[4].Cid) > 0 && st.QueueBatched() == 8, fmt.Sprintf("calls %d batched %d", b.PinCalls(pins[4].Cid), st.QueueBatched())
	})
	tr.Stop()
	b.ClearFaults()
	tr2, err := New(quietSystem().Root, cfg, b, st, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr2.Stop)
	for _, p := range pins[4:] {
		waitStatus(t, tr2, p, api.TrackerStatusPinned)
	}
	waitFor(t, "queue drained", func() (bool, string) {
		return tr2.QueueLen() == 0 && st.QueueBatched() == 0, fmt.Sprintf("queue %d batched %d", tr2.QueueLen(), st.QueueBatched())
	})
}

// TestBatchEntryLargerThanTheWindow: a batch entry written for a larger window (queue_window
// lowered since) is paged in once the window is empty, instead of waiting for room it can
// never have.
func TestBatchEntryLargerThanTheWindow(t *testing.T) {
	cfg := testConfig()
	cfg.QueueWindow = 4
	st := testQueue(t)
	pins, _ := storedPins(t, st, "large", 10)
	items := make([]persistence.BatchItem, len(pins))
	for i, p := range pins {
		items[i] = persistence.BatchItem{Cid: p.Cid}
	}
	if _, err := st.WriteQueue([]persistence.QueueOp{{Kind: persistence.QueuePutBatch, Entry: persistence.QueueEntry{Batch: items}}}, 0); err != nil {
		t.Fatal(err)
	}
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, st, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	for _, p := range pins {
		waitStatus(t, tr, p, api.TrackerStatusPinned)
	}
	waitFor(t, "queue drained", func() (bool, string) {
		return tr.QueueLen() == 0 && st.QueueBatched() == 0, fmt.Sprintf("queue %d batched %d", tr.QueueLen(), st.QueueBatched())
	})
}

// storedPins makes n pins named prefix0.. and applies them to st as one origin's ops, which it
// returns too (for a PinsetChanged event).
func storedPins(t *testing.T, st *persistence.Store, prefix string, n int) ([]api.Pin, []crdt.Op) {
	t.Helper()
	pins := make([]api.Pin, n)
	ops := make([]crdt.Op, n)
	for i := range pins {
		pins[i] = testPin(t, fmt.Sprint(prefix, i))
		js, _ := json.Marshal(pins[i])
		ops[i] = crdt.Op{Origin: peer.ID("origin"), Seq: uint64(i + 1), Clock: crdt.HLC(i + 1), Kind: crdt.OpPin, Cid: pins[i].Cid, PinJSON: js}
	}
	if _, err := st.Apply(ops); err != nil {
		t.Fatal(err)
	}
	return pins, ops
}

// TestNewPinsAllocatedElsewhereAreNotUnpinned: a pin allocated elsewhere that made its CID's
// first record here (a fresh peer loading the pinset) is not unpinned from the IPFS node: the
// cluster never pinned it here, and a fresh peer of a large cluster sent one useless `pin rm`
// per such pin. In the window or through a batch entry alike; a pin that replaced a record
// still is.
func TestNewPinsAllocatedElsewhereAreNotUnpinned(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins, cfg.QueueWindow = 1, 4
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprint("batched ", batched), func(t *testing.T) {
			newPinsElsewhere(t, cfg, batched)
		})
	}
}

func newPinsElsewhere(t *testing.T, cfg Config, batched bool) {
	st := testQueue(t)
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, st, selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	const n = 12
	pins := make([]api.Pin, n)
	ops := make([]crdt.Op, n)
	created := make([]bool, n)
	for i := range pins {
		pins[i] = testPin(t, fmt.Sprint("elsewhere ", i))
		pins[i].Allocations = []peer.ID{testpeer.ID(t, 2)}
		js, _ := json.Marshal(pins[i])
		ops[i] = crdt.Op{Origin: peer.ID("origin"), Seq: uint64(i + 1), Clock: crdt.HLC(i + 1), Kind: crdt.OpPin, Cid: pins[i].Cid, PinJSON: js}
		created[i] = i != 1 && i != n-1 // two replaced a record: those are unpinned
	}
	if _, err := st.Apply(ops); err != nil {
		t.Fatal(err)
	}
	stalled := make([]api.Pin, 1)
	if batched {
		stalled = make([]api.Pin, cfg.QueueWindow) // the window full: the event goes in batch entries
	}
	for i := range stalled {
		stalled[i] = testPin(t, fmt.Sprint("stalled ", i))
		b.StallPin(stalled[i].Cid)
		if err := tr.Track(ctx5s(t), stalled[i]); err != nil {
			t.Fatal(err)
		}
	}
	tr.system.Root.Send(tr.PID(), messages.PinsetChanged{Ops: ops, Created: created})
	if batched {
		waitFor(t, "batch entries written", func() (bool, string) { return st.QueueBatched() == n, fmt.Sprint(st.QueueBatched()) })
	}
	for _, p := range stalled {
		b.Release(p.Cid)
	}
	waitFor(t, "the replaced ones unpinned", func() (bool, string) {
		return b.UnpinCalls(pins[1].Cid) == 1 && b.UnpinCalls(pins[n-1].Cid) == 1, ""
	})
	waitFor(t, "queue drained", func() (bool, string) {
		return tr.QueueLen() == 0 && st.QueueBatched() == 0, fmt.Sprintf("queue %d batched %d", tr.QueueLen(), st.QueueBatched())
	})
	for i, p := range pins {
		if want := map[bool]int{true: 0, false: 1}[created[i]]; b.UnpinCalls(p.Cid) != want {
			t.Fatalf("pin %d (created %v): %d unpin calls, want %d", i, created[i], b.UnpinCalls(p.Cid), want)
		}
	}
}
