package healer

// Taking a removed peer out of its pins (the sweep PeerRemoved asks for) when that sweep could
// not act (this peer momentarily alone, a failed allocation, a restart) is made up by a later
// sweep, which takes removed peers out of any pin that still lists them (found in review: a
// first version vacated once, from memory).

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// waitVacated waits for a commit of pin 1 that no longer lists removed.
func waitVacated(t *testing.T, f *fakes, h *Healer, removed peer.ID, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	sweep := time.NewTicker(within / 4)
	defer sweep.Stop()
	for {
		select {
		case chs := <-f.commits:
			for _, ch := range chs {
				if ch.Pin.Cid.KeyString() == cidOf(t, 1).KeyString() && !slices.Contains(ch.Pin.Allocations, removed) {
					return
				}
			}
		case <-sweep.C:
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), within)
				defer cancel()
				_, _ = h.Sweep(ctx) // the sweeps that are meant to retry what a run could not do
			}()
		case <-deadline:
			t.Fatalf("pin 1 still lists the removed peer after %s and several sweeps: the vacate was not made up", within)
		}
	}
}

// The removal arrives while this peer sees no other live peer (a pause, a partition healing):
// the vacate cannot act; a sweep once the others are back takes the removed peer out.
func TestVacateMadeUpAfterBeingAlone(t *testing.T) {
	_, pa, pb, pc, pd := namedPeers(t)
	f := newFakes(pinOf(t, 1, 1, 2, pa, pb))
	f.self = pa
	f.ipfs[cidOf(t, 1).KeyString()] = true
	f.live = []peer.ID{pa, pb, pc, pd}
	const settle = 300 * time.Millisecond
	system, _, h := spawn(t, f, settle, time.Hour)
	waitSettle(time.Now(), settle) // the sweep PeerRemoved asks for is a real one
	f.setLive(pa)                  // the others' pings lapsed at once
	f.mu.Lock()
	f.removed = []peer.ID{pb}
	f.mu.Unlock()
	system.Root.Send(h.PID(), messages.PeerRemoved{Peer: pb})
	// Sweep answers after a run that starts once the actor has its request: the sweep of
	// PeerRemoved, sent before, has run by then (or is that run), while this peer was alone.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h.Sweep(ctx); err != nil {
		t.Fatalf("a sweep while alone: %v", err)
	}
	for len(f.commits) > 0 {
		for _, ch := range <-f.commits {
			if ch.Pin.Cid.KeyString() == cidOf(t, 1).KeyString() && !slices.Contains(ch.Pin.Allocations, pb) {
				t.Fatalf("pin 1 vacated while this peer saw no other live peer: %v", ch.Pin.Allocations)
			}
		}
	}
	f.setLive(pa, pc, pd) // back in touch
	waitVacated(t, f, h, pb, 12*settle)
}

// waitSettle returns once settle (Deps.Settle) has passed since the healer started: its
// Deps.Started was set before Spawn returned, so at or before spawned. The healer sweeps only
// then; a wait on the clock, as the rule it waits for is one, and exact, not a guess.
func waitSettle(spawned time.Time, settle time.Duration) {
	time.Sleep(time.Until(spawned.Add(settle)))
}

// failOnce fails the first allocation (an allocator still seeding after a restart, a
// transient error): a sweep makes up the vacate.
type failOnce struct {
	*fakes
	failed atomic.Bool
}

func (f *failOnce) Allocate(ctx context.Context, c api.Cid, opts api.PinOptions, current []peer.ID) ([]peer.ID, error) {
	if f.failed.CompareAndSwap(false, true) {
		return nil, errors.New("transient: not enough metrics yet")
	}
	return f.fakes.Allocate(ctx, c, opts, current)
}

func TestVacateMadeUpAfterAFailedAllocation(t *testing.T) {
	_, pa, pb, pc, pd := namedPeers(t)
	f := newFakes(pinOf(t, 1, 1, 2, pa, pb))
	f.self = pa
	f.ipfs[cidOf(t, 1).KeyString()] = true
	f.live = []peer.ID{pa, pb, pc, pd}
	const settle = 300 * time.Millisecond
	system, h := spawnWithAllocator(t, f, &failOnce{fakes: f}, settle)
	waitSettle(time.Now(), settle) // the sweep PeerRemoved asks for is the one that fails
	f.setLive(pa, pc, pd)
	f.mu.Lock()
	f.removed = []peer.ID{pb}
	f.mu.Unlock()
	system.Root.Send(h.PID(), messages.PeerRemoved{Peer: pb})
	waitVacated(t, f, h, pb, 12*settle)
}

func spawnWithAllocator(t *testing.T, f *fakes, alloc Allocator, settle time.Duration) (*actor.ActorSystem, *Healer) {
	t.Helper()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := root.Spawn(system, root.Config{FaultHooks: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Spawn(r, Deps{Self: f.self, SyncInterval: time.Hour, RecoverInterval: time.Hour, Started: time.Now(), Settle: settle,
		Pins: f, Pinset: f, Allocator: alloc, Live: f, Tracker: f, Node: f, Removed: f.removedPeers}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return system, h
}
