package healer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/cidset"
	"github.com/pincluster/pincluster/internal/passgate"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/internal/testpeer"
	"github.com/pincluster/pincluster/messages"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func cidOf(t testing.TB, i int) api.Cid {
	h, err := mh.Sum([]byte(strconv.Itoa(i)), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

// fakes is every dependency in memory; commits are reported on a channel.
type fakes struct {
	mu      sync.Mutex
	pins    []api.Pin
	live    []peer.ID
	tracked []api.Cid
	removed []peer.ID       // peers removed with peers rm (Deps.Removed)
	held    []api.Cid       // what the tracker holds (TrackedSet)
	self    peer.ID         // the healer's peer ("a" unless a test sets it)
	ipfs    map[string]bool // pinned on the node
	lsErr   error           // PinLs fails with it
	// the tracker's Settled counters
	settledPins, settledUnpins uint64
	commits                    chan []messages.Change
	recovers                   chan struct{}
	passes                     atomic.Int32 // passes over the pinset (IteratePins, PinsRaw)
}

func (f *fakes) PinsRaw(ctx context.Context, fn func(c, js []byte, rank crdt.Rank) error) error {
	return f.IteratePins(ctx, nil, func(p api.Pin, rank crdt.Rank) error {
		js, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return fn(p.Cid.Bytes(), js, rank)
	})
}

// rankOf is the rank the fakes give a stored pin: its place in the list.
func rankOf(i int) crdt.Rank { return crdt.Rank{Base: crdt.HLC(i + 1)} }

// IteratePins filters on the pins' JSON as the store's would, but hands the pins themselves
// over (the tests' peer IDs are too short to decode from JSON).
func (f *fakes) IteratePins(_ context.Context, keep func([]byte) bool, fn func(api.Pin, crdt.Rank) error) error {
	f.passes.Add(1) // PinsRaw's too
	f.mu.Lock()
	pins := slices.Clone(f.pins)
	f.mu.Unlock()
	for i, p := range pins {
		if keep != nil {
			js, err := json.Marshal(p)
			if err != nil {
				return err
			}
			if !keep(js) {
				continue
			}
		}
		if err := fn(p, rankOf(i)); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakes) Placement(c api.Cid) (bool, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.pins {
		if p.Cid.KeyString() == c.KeyString() {
			return true, p.AllocatedTo(f.self), nil
		}
	}
	return false, false, nil
}

func (f *fakes) Commit(_ context.Context, changes ...messages.Change) ([]crdt.Op, error) {
	f.commits <- slices.Clone(changes)
	ops := make([]crdt.Op, len(changes)) // every change committed
	for i, ch := range changes {
		ops[i] = crdt.Op{Kind: ch.Kind, Cid: ch.Pin.Cid, After: ch.After}
	}
	return ops, nil
}

// Allocate keeps the live current allocations and fills up to max from the live peers in ID
// order (enough for the healer's rules; the ranking is the allocator's business).
func (f *fakes) Allocate(_ context.Context, _ api.Cid, opts api.PinOptions, current []peer.ID) ([]peer.ID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []peer.ID
	for _, p := range current {
		if slices.Contains(f.live, p) {
			out = append(out, p)
		}
	}
	for _, p := range f.live {
		if len(out) < opts.ReplicationFactorMax && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakes) LivePeers(context.Context) ([]peer.ID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.live), nil
}

// removedPeers is Deps.Removed: the peers removed with peers rm.
func (f *fakes) removedPeers() []peer.ID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.removed)
}

func (f *fakes) setLive(ids ...peer.ID) {
	f.mu.Lock()
	f.live = ids
	f.mu.Unlock()
}

func (f *fakes) Incarnation() int32   { return 1 }
func (f *fakes) MarkReconciled(int32) {}

func (f *fakes) TrackedSet(context.Context) (*cidset.Set, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	set := cidset.New()
	for _, c := range f.held {
		set.Add(c.KeyString())
	}
	return set, nil
}
func (f *fakes) Track(_ context.Context, pin api.Pin) error {
	f.mu.Lock()
	f.tracked = append(f.tracked, pin.Cid)
	f.mu.Unlock()
	return nil
}
func (f *fakes) Untrack(context.Context, api.Cid) error { return nil }
func (f *fakes) Settled() (pins, unpins uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.settledPins, f.settledUnpins
}
func (f *fakes) RecoverAll(context.Context) (int, error) {
	f.recovers <- struct{}{}
	return 0, nil
}
func (f *fakes) PinLs(_ context.Context, fn func(api.Cid, api.PinMode) error) error {
	f.mu.Lock()
	if f.lsErr != nil {
		defer f.mu.Unlock()
		return f.lsErr
	}
	var pinned []api.Cid
	for k, ok := range f.ipfs {
		if ok {
			c, err := api.CastCid([]byte(k))
			if err != nil {
				f.mu.Unlock()
				return err
			}
			pinned = append(pinned, c)
		}
	}
	f.mu.Unlock()
	for _, c := range pinned {
		if err := fn(c, api.PinModeRecursive); err != nil {
			return err
		}
	}
	return nil
}

// realPeer is a peer ID that is the same for the same seed (internal/testpeer).
var realPeer = testpeer.ID

func pinOf(t *testing.T, i int, min, max int, allocs ...peer.ID) api.Pin {
	p := api.NewPin(cidOf(t, i), api.PinOptions{ReplicationFactorMin: min, ReplicationFactorMax: max})
	p.Allocations = allocs
	return p
}

func spawn(t *testing.T, f *fakes, settle time.Duration, recoverEvery time.Duration) (*actor.ActorSystem, *root.Root, *Healer) {
	t.Helper()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := root.Spawn(system, root.Config{FaultHooks: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Spawn(r, Deps{Self: f.self, SyncInterval: time.Hour, RecoverInterval: recoverEvery, Started: time.Now(), Settle: settle,
		Pins: f, Pinset: f, Allocator: f, Live: f, Tracker: f, Node: f, Removed: f.removedPeers}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return system, r, h
}

// namedPeers are real peer IDs (the passes decode stored pins) sorted as their names are:
// "0" < "a" < "b" < "c" < "d".
func namedPeers(t *testing.T) (p0, pa, pb, pc, pd peer.ID) {
	ids := []peer.ID{realPeer(t, 11), realPeer(t, 12), realPeer(t, 13), realPeer(t, 14), realPeer(t, 15)}
	slices.Sort(ids)
	return ids[0], ids[1], ids[2], ids[3], ids[4]
}

func newFakes(pins ...api.Pin) *fakes {
	return &fakes{pins: pins, self: "a", ipfs: map[string]bool{}, commits: make(chan []messages.Change, 16), recovers: make(chan struct{}, 16)}
}

func nextCommit(t *testing.T, f *fakes) []messages.Change {
	t.Helper()
	select {
	case c := <-f.commits:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no commit")
		return nil
	}
}

// PeerDown from the monitor makes the healer (the live member with the lowest ID) reallocate
// the pins of the dead peer that fell under replication_factor_min, and those only.
func TestPeerDownRepins(t *testing.T) {
	_, pa, pb, pc, pd := namedPeers(t)
	f := newFakes(
		pinOf(t, 1, 2, 2, pa, pb), // under min once b is down
		pinOf(t, 2, 1, 2, pa, pb), // still at min
		pinOf(t, 3, 2, 2, pa, pc), // not on b
	)
	f.self = pa
	for _, p := range f.pins {
		f.ipfs[p.Cid.KeyString()] = true
	}
	f.live = []peer.ID{pa, pb, pc, pd}
	system, _, h := spawn(t, f, time.Hour, time.Hour)
	f.setLive(pa, pc, pd)
	system.Root.Send(h.PID(), messages.PeerDown{Peer: pb})
	got := nextCommit(t, f)
	if len(got) != 1 || !(got[0].Pin.Cid.KeyString() == (cidOf(t, 1)).KeyString()) || !slices.Equal(got[0].Pin.Allocations, []peer.ID{pa, pc}) {
		t.Fatalf("commit %+v, want pin 1 reallocated to [a c]", got)
	}
	if got[0].After != rankOf(0) {
		t.Fatalf("the repin is made after %+v, want the record read (%+v): it must lose to a change made since", got[0].After, rankOf(0))
	}
	// A sweep before the settle time only syncs: nothing more is committed.
	if n, err := h.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep before settling: %d, %v", n, err)
	}
	select {
	case c := <-f.commits:
		t.Fatalf("unexpected commit %+v", c)
	default:
	}
}

// Only the live member with the lowest peer ID repins; the others leave it to it.
func TestOnlyTheLowestLivePeerRepins(t *testing.T) {
	p0, pa, pb, pc, _ := namedPeers(t)
	f := newFakes(pinOf(t, 1, 2, 2, pa, pb))
	f.self = pa
	f.ipfs[cidOf(t, 1).KeyString()] = true
	f.live = []peer.ID{p0, pa, pc} // p0 sorts before pa
	_, _, h := spawn(t, f, 0, time.Hour)
	if n, err := h.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("a repinned %d pins (err %v) although 0 leads", n, err)
	}
	f.setLive(pa, pc)
	if n, err := h.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep as the leader: %d, %v; want 1", n, err)
	}
	if got := nextCommit(t, f); !slices.Equal(got[0].Pin.Allocations, []peer.ID{pa, pc}) {
		t.Fatalf("commit %+v", got)
	}
}

// A sweep rides on its state sync's pass: one pass over the pinset, not two.
func TestSweepIsOnePassWithTheSync(t *testing.T) {
	_, pa, pb, pc, _ := namedPeers(t)
	f := newFakes(pinOf(t, 1, 2, 2, pa, pb), pinOf(t, 2, -1, -1))
	f.self = pa
	f.live = []peer.ID{pa, pb, pc}
	_, _, h := spawn(t, f, 0, time.Hour)
	if _, err := h.Sweep(context.Background()); err != nil { // after the startup sync
		t.Fatal(err)
	}
	f.setLive(pa, pc)
	before := f.passes.Load()
	if n, err := h.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep: %d repinned, %v; want 1", n, err)
	}
	if got := f.passes.Load() - before; got != 1 {
		t.Fatalf("a sweep made %d passes over the pinset, want 1", got)
	}
	if got := nextCommit(t, f); !slices.Equal(got[0].Pin.Allocations, []peer.ID{pa, pc}) || got[0].After != rankOf(0) {
		t.Fatalf("commit %+v, want the pin reallocated after its record", got)
	}
}

// The startup sync unpins expired pins and tracks pins allocated here that the node lacks; a
// crashed healer comes back fresh and syncs again.
func TestSyncAtStartAndAfterCrash(t *testing.T) {
	a, b := realPeer(t, 1), realPeer(t, 2) // the sync decodes stored pins: real IDs
	expired := pinOf(t, 1, 1, 1, a)
	expired.ExpireAt = time.Now().Add(-time.Minute)
	missing := pinOf(t, 2, 1, 1, a)
	elsewhere := pinOf(t, 3, 1, 1, b)
	queued := pinOf(t, 4, 1, 1, a) // not on the node either, but the tracker holds it
	f := newFakes(expired, missing, elsewhere, queued)
	f.self, f.held = a, []api.Cid{queued.Cid}
	f.live = []peer.ID{a, b}
	_, r, _ := spawn(t, f, time.Hour, time.Hour)
	got := nextCommit(t, f)
	if len(got) != 1 || got[0].Kind != crdt.OpUnpin || !(got[0].Pin.Cid.KeyString() == (expired.Cid).KeyString()) || got[0].After != rankOf(0) {
		t.Fatalf("commit %+v, want the expired pin unpinned after its record", got)
	}
	if err := r.Crash(context.Background(), ActorName); err != nil {
		t.Fatal(err)
	}
	nextCommit(t, f) // the fresh instance's startup sync (the fake pinset still holds the pin)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tracked) != 2 || !(f.tracked[0].KeyString() == missing.Cid.KeyString()) || !(f.tracked[1].KeyString() == missing.Cid.KeyString()) {
		t.Fatalf("tracked %v, want the missing pin once per start", f.tracked)
	}
}

// When the node cannot list its pins, the sync still unpins expired pins but tracks nothing:
// without the list every pin would look missing.
func TestSyncWithoutPinListTracksNothing(t *testing.T) {
	a := realPeer(t, 1)
	expired := pinOf(t, 1, 1, 1, a)
	expired.ExpireAt = time.Now().Add(-time.Minute)
	f := newFakes(expired, pinOf(t, 2, 1, 1, a))
	f.self = a
	f.lsErr = errors.New("ipfs: connection refused")
	f.live = []peer.ID{a}
	spawn(t, f, time.Hour, time.Hour)
	if got := nextCommit(t, f); len(got) != 1 || got[0].Kind != crdt.OpUnpin {
		t.Fatalf("commit %+v, want the expired pin unpinned", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tracked) != 0 {
		t.Fatalf("tracked %v without the node's pin list", f.tracked)
	}
}

// The recover timer re-queues errored items.
func TestRecoverTick(t *testing.T) {
	f := newFakes()
	spawn(t, f, time.Hour, 10*time.Millisecond)
	for range 2 {
		select {
		case <-f.recovers:
		case <-time.After(10 * time.Second):
			t.Fatal("no recovery")
		}
	}
}

// Peers that Voters leaves out (followers, untrusted peers) are not left the repinning even
// with the lowest ID, and still count as holders of their allocations.
func TestVotersChooseTheRepinningPeer(t *testing.T) {
	// The sweep decodes stored pins: real IDs. follower sorts before self.
	ids := []peer.ID{realPeer(t, 1), realPeer(t, 2), realPeer(t, 3), realPeer(t, 4)}
	slices.Sort(ids)
	follower, self, dead, other := ids[0], ids[1], ids[2], ids[3]
	f := newFakes(pinOf(t, 1, 2, 2, self, dead), pinOf(t, 2, 2, 2, self, follower))
	f.self = self
	f.ipfs[cidOf(t, 1).KeyString()] = true
	f.ipfs[cidOf(t, 2).KeyString()] = true
	f.live = []peer.ID{follower, self, other}
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := root.Spawn(system, root.Config{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	voters := func(_ context.Context, live []peer.ID) []peer.ID {
		return slices.DeleteFunc(slices.Clone(live), func(id peer.ID) bool { return id == follower })
	}
	h, err := Spawn(r, Deps{Self: self, SyncInterval: time.Hour, RecoverInterval: time.Hour, Started: time.Now(),
		Pins: f, Pinset: f, Allocator: f, Live: f, Tracker: f, Node: f, Voters: voters}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := h.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep with a follower of lower ID: %d repinned, %v; want 1 (pin 1 only: the follower holds pin 2)", n, err)
	}
	if got := nextCommit(t, f); len(got) != 1 || got[0].Pin.Cid.KeyString() != cidOf(t, 1).KeyString() {
		t.Fatalf("commit %+v, want pin 1", got)
	}
}

// A state sync skips without decoding only a pin surely allocated to other peers.
func TestElsewhere(t *testing.T) {
	self, other := realPeer(t, 1), realPeer(t, 2)
	q := []byte(`"` + self.String() + `"`)
	for _, tc := range []struct {
		js   string
		want bool
	}{
		{`{"cid":"x","allocations":["` + other.String() + `"]}`, true},
		{`{"cid":"x","allocations":["` + other.String() + `","` + self.String() + `"]}`, false},
		{`{"cid":"x","allocations":[]}`, false},
		{`{"cid":"x","allocations":null}`, false},
		{`{"cid":"x"}`, false},
		{`{"cid":"x","allocations":["` + other.String() + `"],"name":"` + self.String() + `"}`, false}, // a doubt: decoded
	} {
		if got := elsewhere([]byte(tc.js), q); got != tc.want {
			t.Errorf("elsewhere(%s) = %v, want %v", tc.js, got, tc.want)
		}
	}
}

// A pin that expires while the sweep's sync waits for its turn is unpinned, not also
// reallocated: the repin judges expiry at the sync's time (it used to take its own before
// the wait, and its reallocation, committed last, brought the pin back).
func TestSweepLeavesAPinThatExpiredDuringTheWaitToTheSync(t *testing.T) {
	_, pa, pb, pc, _ := namedPeers(t)
	p := pinOf(t, 1, 2, 2, pa, pb)
	p.ExpireAt = time.Now().Add(time.Hour)
	f := newFakes(p)
	f.self = pa
	f.ipfs[p.Cid.KeyString()] = true
	f.live = []peer.ID{pa, pb, pc}
	gate := passgate.New()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := root.Spawn(system, root.Config{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Spawn(r, Deps{Self: pa, SyncInterval: time.Hour, RecoverInterval: time.Hour, Started: time.Now(),
		Pins: f, Pinset: f, Allocator: f, Live: f, Tracker: f, Node: f, Passes: gate}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := h.Sweep(context.Background()); err != nil || n != 0 { // after the startup sync
		t.Fatalf("first sweep: %d, %v", n, err)
	}
	expireAt := time.Now().Add(300 * time.Millisecond)
	f.mu.Lock()
	f.pins[0].ExpireAt = expireAt
	f.mu.Unlock()
	f.setLive(pa, pc) // pb is gone: under-replicated
	leave, err := gate.Enter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	swept := make(chan int, 1)
	go func() { // waits at the gate
		n, _ := h.Sweep(context.Background())
		swept <- n
	}()
	// The pin expires while the sweep waits at the gate.
	if !poll.Until(10*time.Second, 10*time.Millisecond, func() bool { return time.Now().After(expireAt) }) {
		t.Fatal("the clock did not move past the pin's expiry")
	}
	leave()
	if n := <-swept; n != 0 {
		t.Fatalf("the sweep reallocated %d pins, want none (the pin expired)", n)
	}
	if got := nextCommit(t, f); len(got) != 1 || got[0].Kind != crdt.OpUnpin {
		t.Fatalf("commit %+v, want only the expired pin's unpin", got)
	}
	if len(f.commits) > 0 {
		t.Fatalf("commit after the unpin: %+v", <-f.commits)
	}
}

// NodePins (the numpin metric) is the count of the node's pins at the last state sync that
// listed them, plus the pins and less the unpins the tracker completed since: unknown before
// the first listing, following the tracker after it (also when a listing fails), and counted
// afresh by the next.
func TestNodePinsCountsTheLastListing(t *testing.T) {
	a := realPeer(t, 1)
	f := newFakes(pinOf(t, 1, 1, 1, a))
	f.self, f.live = a, []peer.ID{a}
	f.lsErr = errors.New("ipfs: connection refused")
	_, _, h := spawn(t, f, time.Hour, time.Hour)
	if _, err := h.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, ok := h.NodePins(); ok {
		t.Fatalf("NodePins = %d before any listing", n)
	}
	f.mu.Lock()
	f.lsErr = nil
	f.ipfs[cidOf(t, 1).KeyString()], f.ipfs[cidOf(t, 2).KeyString()] = true, true
	f.mu.Unlock()
	if _, err := h.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, ok := h.NodePins(); !ok || n != 2 {
		t.Fatalf("NodePins = %d, %v; want the 2 pins listed", n, ok)
	}
	f.mu.Lock()
	f.settledPins, f.settledUnpins = 3, 1 // the tracker pinned 3 and unpinned 1 since
	f.lsErr = errors.New("ipfs: connection refused")
	f.mu.Unlock()
	if _, err := h.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, ok := h.NodePins(); !ok || n != 4 {
		t.Fatalf("NodePins = %d, %v after a failed listing; want the last count with the tracker's changes, 4", n, ok)
	}
	f.mu.Lock()
	f.lsErr = nil
	f.mu.Unlock()
	if _, err := h.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, ok := h.NodePins(); !ok || n != 2 {
		t.Fatalf("NodePins = %d, %v; want the node's own count again, 2", n, ok)
	}
}

// A peer that sees no other live peer when it is to repin may be the one cut off (a
// partition, a paused process): it moves nothing onto itself, and repins only once it has
// seen the others again for Settle; a down peer that came back meanwhile is left alone.
func TestAlonePeerDoesNotRepin(t *testing.T) {
	_, pa, pb, pc, _ := namedPeers(t)
	f := newFakes(
		pinOf(t, 1, 1, 1, pb), // b's
		pinOf(t, 2, 1, 1, pc), // c's
	)
	f.self = pa
	f.live = []peer.ID{pa, pb, pc}
	const settle = 300 * time.Millisecond
	system, _, h := spawn(t, f, settle, time.Hour)
	f.setLive(pa) // cut off: every other ping expired at once
	system.Root.Send(h.PID(), messages.PeerDown{Peer: pb})
	system.Root.Send(h.PID(), messages.PeerDown{Peer: pc})
	select {
	case c := <-f.commits:
		t.Fatalf("a peer alone repinned %+v", c)
	case <-time.After(2 * settle):
	}
	// Back in touch: b answers again, c stays down. After settling, only c's pin moves.
	f.setLive(pa, pb)
	system.Root.Send(h.PID(), messages.PeerUp{Peer: pb})
	got := nextCommit(t, f)
	if len(got) != 1 || got[0].Pin.Cid.KeyString() != cidOf(t, 2).KeyString() {
		t.Fatalf("after settling: commit %+v, want c's pin only", got)
	}
}

// PeerRemoved makes the healer reallocate every pin allocated to the removed peer, also those
// still at or above their minimum (IPFS Cluster's PeerRemove with repinning on): otherwise
// they list the removed peer, as cluster_error, for good (QA).
func TestPeerRemovedVacatesItsPins(t *testing.T) {
	_, pa, pb, pc, pd := namedPeers(t)
	f := newFakes(
		pinOf(t, 1, 1, 2, pa, pb), // at its minimum without b
		pinOf(t, 2, 1, 1, pb),     // under it
		pinOf(t, 3, 1, 2, pa, pc), // not on b
	)
	f.self = pa
	for _, p := range f.pins {
		f.ipfs[p.Cid.KeyString()] = true
	}
	f.live = []peer.ID{pa, pb, pc, pd}
	system, _, h := spawn(t, f, 0, time.Hour)
	f.setLive(pa, pc, pd)
	f.mu.Lock()
	f.removed = []peer.ID{pb} // the roster records a removal before it tells the healer
	f.mu.Unlock()
	system.Root.Send(h.PID(), messages.PeerRemoved{Peer: pb})
	got := map[string][]peer.ID{}
	for len(got) < 2 {
		for _, ch := range nextCommit(t, f) {
			got[ch.Pin.Cid.KeyString()] = ch.Pin.Allocations
		}
	}
	if a := got[cidOf(t, 1).KeyString()]; !slices.Equal(a, []peer.ID{pa, pc}) {
		t.Fatalf("pin 1 reallocated to %v, want [a c]", a)
	}
	if a := got[cidOf(t, 2).KeyString()]; !slices.Equal(a, []peer.ID{pa}) {
		t.Fatalf("pin 2 reallocated to %v, want [a]", a)
	}
	if _, ok := got[cidOf(t, 3).KeyString()]; ok || len(got) != 2 {
		t.Fatalf("commits %v: only pins 1 and 2 are on the removed peer", got)
	}
}
