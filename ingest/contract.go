package ingest

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// Deps is what the service needs from the peer. Its methods are called from one goroutine per
// run, several runs may call them at once.
type Deps interface {
	// Snapshot opens a read-only view of the pinset store (no actor round trip) for the
	// run's lookups; the run renews it every snapshotChunks chunks and discards it at the end.
	Snapshot() Snapshot
	// Allocate picks the allocations of every request from one snapshot of the live peers'
	// metrics. errs[i] (api.ErrUnavailable when too few peers) fails request i only; err fails
	// them all (no metrics at all).
	Allocate(ctx context.Context, reqs []AllocRequest) (allocs [][]peer.ID, errs []error, err error)
	// Admit returns once the queues downstream of the pinset (broadcast, tracker) can take n
	// more ops, or with an error (api.ErrUnavailable, ctx's error) when they cannot. It is
	// called only before changes that pin.
	Admit(ctx context.Context, n int) error
	// Commit makes the changes durable as one group commit (pinset.Commit). When it returns
	// nil every change survives a crash.
	Commit(ctx context.Context, changes []messages.Change) error
	// Flush returns once the changes committed so far are broadcast to the other peers, or
	// with an error after a bound (they stay durable and go out later).
	Flush(ctx context.Context) error
	// Replicated returns, after a bounded wait, how many members (this peer included) hold
	// every change committed so far, of how many.
	Replicated(ctx context.Context) (held, peers int)
}

// broadcastWaiter is what Deps may offer for changes that only unpin: WaitBroadcast returns
// once the broadcast queue has room for n more ops, or with ctx's error; it never refuses
// them (a full queue after a bounded wait passes), as a single unpin is not refused. Deps
// without it let unpins through at once. Optional, so Deps of tests need not have it.
type broadcastWaiter interface {
	WaitBroadcast(ctx context.Context, n int) error
}

// AllocRequest asks for the allocations of one pin.
type AllocRequest struct {
	Cid  api.Cid
	Opts api.PinOptions
	// Current are the allocations of the stored pin (nil for a new pin), kept while enough.
	Current []peer.ID
}

// Snapshot is a view of the stored pinset as of its opening (persistence.Snapshot).
type Snapshot interface {
	// GetPins returns the stored pin of each CID; found[i] is false when cids[i] is not pinned.
	// The pins of one call may share their slices, maps and Reference: read them only.
	GetPins(cids []api.Cid) (pins []api.Pin, found []bool, err error)
	Discard()
}
