// Package peerprobe is the view of a running peer's parts that in-process tests and benchmarks
// need (testcluster, bench): its libp2p host for fault injection, its IPFS backend, queue
// lengths and watermarks, and the supervision test hooks of its actor tree. It is not an API:
// a peer hands its probe out only to whoever passed peer.Options.Probe, production code talks
// to a peer through its services and the REST API, and TestProbeOnlyInTests (peer) keeps it
// that way. Being internal, nothing outside this module can import it.
package peerprobe

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// askTimeout bounds each question to the root actor.
const askTimeout = 10 * time.Second

// Parts are what a peer puts in its probe.
type Parts struct {
	Host             host.Host
	Backend          ipfs.Backend
	CountPins        func() (int, error)
	TrackerQueueLen  func() int
	PendingBroadcast func() int
	CollectedClock   func() uint64
	HasDigestOf      func(id peer.ID) bool
	VersionVector    func() map[peer.ID]uint64
	// VersionsSeen is, per member, when this peer's copy of its version vector was last
	// brought current (a pull or an announcement; syncer.SeenVVs).
	VersionsSeen func() map[peer.ID]time.Time
	// Root is the peer's root actor (supervision tests: Crash, Restarts, Children).
	Root *root.Root
}

// Probe is a running peer's view. The zero Probe is a peer that has not started (every read
// panics). Everything but Host and Crash only reads.
type Probe struct{ p Parts }

// New is called by the peer that fills a Probe.
func New(p Parts) Probe { return Probe{p: p} }

// Host is the peer's libp2p host, handed out for fault injection (testcluster's Partition,
// Kill) and connection checks.
func (p Probe) Host() host.Host { return p.p.Host }

// Backend is the IPFS backend the peer pins on.
func (p Probe) Backend() ipfs.Backend { return p.p.Backend }

// CountPins is the number of pins in the peer's pinset (an O(1) counter).
func (p Probe) CountPins() (int, error) { return p.p.CountPins() }

// TrackerQueueLen is the number of items queued or in progress in the tracker (the pinqueue
// metric's value).
func (p Probe) TrackerQueueLen() int { return p.p.TrackerQueueLen() }

// PendingBroadcast is the number of local ops durable but not yet published over pubsub.
func (p Probe) PendingBroadcast() int { return p.p.PendingBroadcast() }

// CollectedClock is the store's collection watermark (0 until a tombstone was collected).
func (p Probe) CollectedClock() uint64 { return p.p.CollectedClock() }

// HasDigestOf reports whether the peer stores a replica of id's status digest.
func (p Probe) HasDigestOf(id peer.ID) bool { return p.p.HasDigestOf(id) }

// VersionVector is the peer's version vector (per origin, the highest seq it holds
// contiguously from 1); nil when the store cannot be read.
func (p Probe) VersionVector() map[peer.ID]uint64 { return p.p.VersionVector() }

// VersionsSeen is when the peer's copy of each member's version vector was last brought
// current, by a pull or an announcement; nil when the syncer does not answer.
func (p Probe) VersionsSeen() map[peer.ID]time.Time { return p.p.VersionsSeen() }

// Crash makes the actor named name (a child of the root) panic, as a bug would (supervision
// tests; the peer needs Options.FaultHooks).
func (p Probe) Crash(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
	defer cancel()
	return p.p.Root.Crash(ctx, name)
}

// Restarts is how many times the root restarted the actor named name.
func (p Probe) Restarts(name string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
	defer cancel()
	cs, err := p.p.Root.Children(ctx)
	if err != nil {
		return 0, err
	}
	for _, c := range cs {
		if c.Name == name {
			return c.Restarts, nil
		}
	}
	return 0, fmt.Errorf("%w: no actor named %q under the root", api.ErrNotFound, name)
}

// Children lists the names of the root's children, in order of spawn.
func (p Probe) Children() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
	defer cancel()
	cs, err := p.p.Root.Children(ctx)
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names, err
}
