package peer

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/pincluster/pincluster/ipfs"
)

// Accessors for in-process tests (testcluster). They expose parts the daemon never hands out;
// production code must not reach through them.

// Host is the peer's libp2p host.
func (p *Peer) Host() host.Host { return p.host }

// CountPins is the number of pins in this peer's pinset (an O(1) counter, unlike PinsJSON).
func (p *Peer) CountPins() (int, error) { return p.store.CountPins() }

// Backend is the IPFS backend the peer pins on.
func (p *Peer) Backend() ipfs.Backend {
	if nc, ok := p.ipfs.(nopCloser); ok {
		return nc.Backend
	}
	return p.ipfs
}

// TrackerQueueLen is the number of items queued or in progress in the tracker (the pinqueue
// metric's value).
func (p *Peer) TrackerQueueLen() int { return p.tracker.QueueLen() }

// PendingBroadcast is the number of local ops durable but not yet published over pubsub.
func (p *Peer) PendingBroadcast() int { return p.batcher.Pending() }

// CollectedClock is the store's collection watermark (0 until a tombstone was collected).
func (p *Peer) CollectedClock() uint64 {
	c, _ := p.store.CollectedClock()
	return uint64(c)
}
