package healer

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/cidset"
	"github.com/pincluster/pincluster/internal/passgate"
	"github.com/pincluster/pincluster/messages"
)

// Pins is the pinset as the healer reads it (the store: reads are safe concurrently with the
// pinset actor's writes).
type Pins interface {
	// IteratePins streams every live pin whose stored JSON keep accepts (nil: every pin) in key
	// order, in constant memory, with its record's rank (what a conditional change made of it
	// carries: messages.Change.After); the others are not decoded.
	IteratePins(ctx context.Context, keep func(pinJSON []byte) bool, fn func(api.Pin, crdt.Rank) error) error
	// PinsRaw streams every live pin in key order as its binary CID and stored JSON (both
	// valid only during fn) and its record's rank, for a pass that decodes only the pins it
	// acts on.
	PinsRaw(ctx context.Context, fn func(cid, pinJSON []byte, rank crdt.Rank) error) error
	// Placement tells whether the pinset has a record of c (live, or a tombstone that is not
	// unheld: persistence.Record.Unheld) and whether that record is a live pin allocated to
	// this peer (true as well when it cannot be decoded: an IPFS pin is never removed on a
	// doubt).
	Placement(c api.Cid) (found, here bool, err error)
}

// Pinset commits changes (the pinset actor's facade).
type Pinset interface {
	Commit(ctx context.Context, changes ...messages.Change) ([]crdt.Op, error)
}

// Allocator answers allocations from its live candidates (the allocator actor's facade).
type Allocator interface {
	Allocate(ctx context.Context, c api.Cid, opts api.PinOptions, current []peer.ID) ([]peer.ID, error)
}

// Liveness lists the live peers: a valid ping, not removed (the monitor's facade).
type Liveness interface {
	LivePeers(ctx context.Context) ([]peer.ID, error)
}

// Tracker is the pin tracker's facade.
type Tracker interface {
	// TrackedSet is every CID the tracker holds (in memory or in its durable queue), as
	// fingerprints for one pass.
	TrackedSet(ctx context.Context) (*cidset.Set, error)
	Track(ctx context.Context, pin api.Pin) error
	Untrack(ctx context.Context, c api.Cid) error
	RecoverAll(ctx context.Context) (int, error)
	// Settled counts the pin and unpin operations completed on the IPFS node so far.
	Settled() (pins, unpins uint64)
	// Incarnation and MarkReconciled: a state sync that listed the node and tracked again
	// what the pinset says marks the tracker complete for the incarnation it began under
	// (tombstone collection keeps every tombstone until then: tracker.Tracker.Held).
	Incarnation() int32
	MarkReconciled(n int32)
}

// Node is the IPFS node (ipfs.Backend satisfies it).
type Node interface {
	PinLs(ctx context.Context, fn func(c api.Cid, mode api.PinMode) error) error
}

// Deps configure the healer. Every interface is required.
type Deps struct {
	Self peer.ID
	// DisableRepinning is cluster.disable_repinning.
	DisableRepinning bool
	// SyncInterval is state_sync_interval (the sweep); RecoverInterval pin_recover_interval.
	SyncInterval, RecoverInterval time.Duration
	// Started is when the peer started; Settle how long after it the sweep may repin.
	Started time.Time
	Settle  time.Duration

	Pins      Pins
	Pinset    Pinset
	Allocator Allocator
	Live      Liveness
	// Voters, when set, narrows the live peers among which the repinning peer is chosen to
	// those whose commits the cluster accepts (trusted peers that are not followers): a
	// follower or an untrusted peer with the lowest ID would otherwise be left the work and
	// never do it. Live peers all still count as holders of their allocations. Nil: every
	// live peer votes. It is called from the healer's I/O worker and may block briefly.
	Voters func(ctx context.Context, live []peer.ID) []peer.ID
	// Removed lists the peers removed with peers rm (optional): a sweep (PeerRemoved asks for
	// one) takes them out of the allocations of any pin that still lists them, and the next
	// sweeps make up what one could not do (this peer alone for a moment, a failed
	// allocation, a restart).
	Removed func() []peer.ID
	Tracker Tracker
	Node    Node
	// Passes is the peer's gate for background passes over the whole pinset: a state sync
	// waits there for the status digest's reconcile (internal/passgate). Nil: no wait.
	Passes passgate.Gate
}
