package pinset

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

var errNoMaintenance = errors.New("memStore: no maintenance")

// memStore takes no part in snapshot installs and collections (the tests below use a real
// store for those).
func (s *memStore) ApplySnapshot([]persistence.Record) ([]crdt.Effect, error) {
	return nil, errNoMaintenance
}
func (s *memStore) PruneAbsent(context.Context, api.Cid, api.Cid, []api.Cid, map[peer.ID]uint64) ([]persistence.Record, error) {
	return nil, errNoMaintenance
}
func (s *memStore) RaiseVersionVector(context.Context, map[peer.ID]uint64) error {
	return errNoMaintenance
}
func (s *memStore) CollectTombstones(context.Context, map[peer.ID]uint64, []peer.ID, func([]byte) bool) (int, []peer.ID, error) {
	return 0, nil, errNoMaintenance
}
func (s *memStore) DropAfterCutoff(context.Context, peer.ID, uint64) ([]persistence.Record, error) {
	return nil, errNoMaintenance
}

// events collects what a subscriber hears.
type events struct {
	mu   sync.Mutex
	evs  []messages.PinsetChanged
	t    *testing.T
	sys  *actor.ActorSystem
	subs []*actor.PID
}

func (e *events) listen(ev messages.PinsetChanged) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) ops() []crdt.Op {
	settle(e.t, e.sys, e.subs)
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []crdt.Op
	for _, ev := range e.evs {
		out = append(out, ev.Ops...)
	}
	return out
}

// spawnReal starts the actor on a real in-memory store.
func spawnReal(t *testing.T, self peer.ID, ev *events) (*Pinset, *persistence.Store) {
	t.Helper()
	st, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewActorSystem()
	var subs []*actor.PID
	if ev != nil {
		ev.t, ev.sys = t, sys
		ev.subs = subscriber(t, sys, ev.listen)
		subs = ev.subs
	}
	p, err := Spawn(sys.Root, self, st, crdt.NewClock(nil), subs, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(); st.Close() })
	return p, st
}

func pinOpOf(t *testing.T, origin peer.ID, seq uint64, clock crdt.HLC, i int) crdt.Op {
	t.Helper()
	pin := testPin(i)
	b, err := json.Marshal(pin)
	if err != nil {
		t.Fatal(err)
	}
	return crdt.Op{Origin: origin, Seq: seq, Clock: clock, Kind: crdt.OpPin, Cid: pin.Cid, PinJSON: b}
}

// A snapshot page goes through the actor: its records are stored, the local records of its
// range the sender had seen and no longer holds are pruned, the listener hears of both (a
// pruned record as an unpin), and the actor's numbering moves past its own ops that came back.
func TestInstallSnapshotPage(t *testing.T) {
	self, other := testPeer(t), testPeer(t)
	var ev events
	p, st := spawnReal(t, self, &ev)
	ctx := t.Context()

	// A local record the sender saw (other's seq 1) and no longer holds: pruned.
	stale := pinOpOf(t, other, 1, crdt.MakeHLC(1000, 0), 1)
	if err := p.ApplyRemoteWait(ctx, []crdt.Op{stale}); err != nil {
		t.Fatal(err)
	}
	before := len(ev.ops())
	own := pinOpOf(t, self, 41, crdt.MakeHLC(2000, 0), 2)
	fresh := pinOpOf(t, other, 7, crdt.MakeHLC(3000, 0), 3)
	page := &InstallSnapshotPage{
		Records: []persistence.Record{{Op: own}, {Op: fresh}},
		Present: []api.Cid{own.Cid, fresh.Cid},
		VV:      map[peer.ID]uint64{self: 41, other: 7},
	}
	if err := p.InstallSnapshotPage(ctx, page); err != nil {
		t.Fatal(err)
	}
	for _, c := range []api.Cid{own.Cid, fresh.Cid} {
		if _, found, err := st.GetPin(c); err != nil || !found {
			t.Fatalf("snapshot record %s not stored: %v", c, err)
		}
	}
	if _, found, _ := st.GetPin(stale.Cid); found {
		t.Fatal("a record the snapshot's peer had collected was not pruned")
	}
	kinds := map[api.Cid]crdt.OpKind{}
	for _, op := range ev.ops()[before:] {
		kinds[op.Cid] = op.Kind
	}
	if kinds[own.Cid] != crdt.OpPin || kinds[fresh.Cid] != crdt.OpPin || kinds[stale.Cid] != crdt.OpUnpin {
		t.Fatalf("listener heard %v", kinds)
	}
	// Numbering continues after our own op of the snapshot.
	ops, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(9)})
	if err != nil {
		t.Fatal(err)
	}
	if ops[0].Seq != 42 || ops[0].Clock <= fresh.Clock {
		t.Fatalf("local op after the snapshot: seq %d clock %d, want seq 42 and a clock after %d", ops[0].Seq, ops[0].Clock, fresh.Clock)
	}

	// The version vector is raised through the actor too.
	if err := p.RaiseVersionVector(ctx, map[peer.ID]uint64{other: 7}); err != nil {
		t.Fatal(err)
	}
	if to, err := st.TrimmedTo(other); err != nil || to != 7 {
		t.Fatalf("trimmed to %d, %v; want 7", to, err)
	}
}

// A bad page is refused whole, before its prune too (a local record it would prune stays),
// and the actor keeps serving.
func TestInstallSnapshotPageRefusesInvalid(t *testing.T) {
	self, other := testPeer(t), testPeer(t)
	p, st := spawnReal(t, self, nil)
	stale := pinOpOf(t, other, 1, crdt.MakeHLC(1000, 0), 1)
	if err := p.ApplyRemoteWait(t.Context(), []crdt.Op{stale}); err != nil {
		t.Fatal(err)
	}
	bad := &InstallSnapshotPage{Records: []persistence.Record{{Op: crdt.Op{Origin: self, Seq: 0, Kind: crdt.OpPin}}},
		VV: map[peer.ID]uint64{other: 7}}
	if err := p.InstallSnapshotPage(t.Context(), bad); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("err = %v, want api.ErrInvalid", err)
	}
	if _, found, _ := st.GetPin(stale.Cid); !found {
		t.Fatal("a refused page pruned a local record")
	}
	if _, err := p.Commit(t.Context(), messages.Change{Kind: crdt.OpPin, Pin: testPin(1)}); err != nil {
		t.Fatalf("commit after a refused page: %v", err)
	}
}

// Tombstone collection goes through the actor: the tombstones up to the stable vector are
// dropped, a tombstone beyond it stays, and the excluded member is recorded at the greatest
// clock collected.
func TestCollectTombstones(t *testing.T) {
	self, other, silent := testPeer(t), testPeer(t), testPeer(t)
	p, st := spawnReal(t, self, nil)
	ctx := t.Context()
	a, b := pinOpOf(t, other, 1, crdt.MakeHLC(1000, 0), 1), pinOpOf(t, other, 3, crdt.MakeHLC(1002, 0), 2)
	unA := crdt.Op{Origin: other, Seq: 2, Clock: crdt.MakeHLC(1001, 0), Kind: crdt.OpUnpin, Cid: a.Cid}
	unB := crdt.Op{Origin: other, Seq: 4, Clock: crdt.MakeHLC(1003, 0), Kind: crdt.OpUnpin, Cid: b.Cid}
	if err := p.ApplyRemoteWait(ctx, []crdt.Op{a, unA, b, unB}); err != nil {
		t.Fatal(err)
	}
	res, err := p.CollectTombstones(ctx, map[peer.ID]uint64{other: 2}, []peer.ID{silent}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Dropped != 1 || len(res.Excluded) != 1 || res.Excluded[0] != silent {
		t.Fatalf("collected %+v, want 1 tombstone dropped and %s excluded", res, silent)
	}
	if _, found, _ := st.Get(a.Cid); found {
		t.Fatal("stable tombstone kept")
	}
	if rec, found, _ := st.Get(b.Cid); !found || !rec.Deleted {
		t.Fatal("tombstone beyond the stable vector dropped")
	}
	ex, err := st.Exclusions()
	if err != nil || ex[silent] != unA.Clock {
		t.Fatalf("exclusions %v, %v; want %s at %d", ex, err, silent, unA.Clock)
	}
	// Again, with nothing left to drop: nothing new is excluded.
	if res, err = p.CollectTombstones(ctx, map[peer.ID]uint64{other: 2}, []peer.ID{silent}, nil); err != nil || len(res.Excluded) != 0 {
		t.Fatalf("second collection: %+v, %v", res, err)
	}
}

// A removed member's ops after its cutoff are dropped by the actor like every write, and the
// subscribers hear of each record dropped as an unpin; its ops up to the cutoff stay.
func TestDropAfterCutoff(t *testing.T) {
	self, removed := testPeer(t), testPeer(t)
	ev := &events{}
	p, st := spawnReal(t, self, ev)
	ctx := t.Context()
	kept, late := pinOpOf(t, removed, 1, crdt.MakeHLC(1000, 0), 1), pinOpOf(t, removed, 2, crdt.MakeHLC(1001, 0), 2)
	if err := p.ApplyRemoteWait(ctx, []crdt.Op{kept, late}); err != nil {
		t.Fatal(err)
	}
	n, err := p.DropAfterCutoff(ctx, removed, 1)
	if err != nil || n != 1 {
		t.Fatalf("dropped %d, %v; want 1", n, err)
	}
	if _, found, _ := st.Get(late.Cid); found {
		t.Fatal("the op after the cutoff is still a record")
	}
	if _, found, _ := st.Get(kept.Cid); !found {
		t.Fatal("the op up to the cutoff was dropped")
	}
	ops := ev.ops()
	last := ops[len(ops)-1]
	if last.Kind != crdt.OpUnpin || last.Cid.KeyString() != late.Cid.KeyString() {
		t.Fatalf("subscribers heard %+v last, want the unpin of the dropped record", last)
	}
}

// After a state cleanup a peer may catch up from a snapshot that holds none of its own ops
// (another peer's unpin superseded its last pin): the version vector raised from that
// snapshot says how far its seqs went, and its next local op is numbered after it, not
// dropped as a duplicate.
func TestRaiseVersionVectorMovesOwnSeq(t *testing.T) {
	self, other := testPeer(t), testPeer(t)
	p, st := spawnReal(t, self, nil)
	ctx := t.Context()
	if err := p.RaiseVersionVector(ctx, map[peer.ID]uint64{self: 50, other: 7}); err != nil {
		t.Fatal(err)
	}
	ops, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(9)})
	if err != nil {
		t.Fatal(err)
	}
	if ops[0].Seq != 51 {
		t.Fatalf("first local op after the raise has seq %d, want 51", ops[0].Seq)
	}
	if _, found, err := st.GetPin(ops[0].Cid); err != nil || !found {
		t.Fatalf("the acknowledged pin is not stored: %v", err)
	}
}
