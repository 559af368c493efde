package peer

import (
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/pincluster/pincluster/ipfs"
)

// Introspection is a view of a running peer's parts for in-process tests and benchmarks
// (testcluster, bench): what the daemon never hands out. It is not an API: production code
// talks to a peer through its methods and the REST API, never through this view
// (TestIntrospectOnlyInTests enforces it). Everything but Host only reads.
type Introspection struct{ p *Peer }

// Introspect returns p's view for tests and benchmarks (see Introspection).
func (p *Peer) Introspect() Introspection { return Introspection{p: p} }

// Host is the peer's libp2p host, handed out for fault injection (testcluster's Partition,
// Kill) and connection checks.
func (v Introspection) Host() host.Host { return v.p.host }

// CountPins is the number of pins in this peer's pinset (an O(1) counter, unlike PinsJSON).
func (v Introspection) CountPins() (int, error) { return v.p.store.CountPins() }

// Backend is the IPFS backend the peer pins on.
func (v Introspection) Backend() ipfs.Backend {
	if nc, ok := v.p.ipfs.(nopCloser); ok {
		return nc.Backend
	}
	return v.p.ipfs
}

// TrackerQueueLen is the number of items queued or in progress in the tracker (the pinqueue
// metric's value).
func (v Introspection) TrackerQueueLen() int { return v.p.tracker.QueueLen() }

// PendingBroadcast is the number of local ops durable but not yet published over pubsub.
func (v Introspection) PendingBroadcast() int { return v.p.batcher.Pending() }

// CollectedClock is the store's collection watermark (0 until a tombstone was collected).
func (v Introspection) CollectedClock() uint64 {
	c, _ := v.p.store.CollectedClock()
	return uint64(c)
}
