package tracker

import (
	"context"
	"sync/atomic"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// settledCounts are Tracker.Settled's counters, kept across the actor's restarts.
type settledCounts struct{ pins, unpins atomic.Uint64 }

// countingBackend is the tracker's IPFS backend, counting the pins completed and the pins
// removed (Tracker.Settled) where the calls are made, so no actor between the call and the
// tracker carries the outcome.
type countingBackend struct {
	ipfs.Backend
	n *settledCounts
}

func (b countingBackend) Pin(ctx context.Context, c api.Cid, mode api.PinMode, progress ipfs.PinProgress) error {
	err := b.Backend.Pin(ctx, c, mode, progress)
	if err == nil {
		b.n.pins.Add(1)
	}
	return err
}

// Unpin counts only a pin removed: ipfs.ErrNotPinned (the node did not hold it) is an error.
func (b countingBackend) Unpin(ctx context.Context, c api.Cid) error {
	err := b.Backend.Unpin(ctx, c)
	if err == nil {
		b.n.unpins.Add(1)
	}
	return err
}
