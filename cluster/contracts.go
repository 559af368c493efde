package cluster

import (
	"context"
	"io"

	"github.com/ipfs/boxo/files"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/messages"
)

// The contracts of the services: every part of a peer they use, as the smallest interface that
// serves. peer/ implements each one over its actors, stores and libp2p host (the facades satisfy
// most of them as they are) and hands them over in a Deps. Unless a method says otherwise it is
// safe for concurrent use, honours ctx and blocks until done.

// PinStore reads the pinset (persistence.Store). Each call reads one consistent snapshot and
// never waits for writers.
type PinStore interface {
	// GetPin returns the live pin of c; found is false for an absent CID or a tombstone.
	GetPin(c api.Cid) (pin api.Pin, found bool, err error)
	// IteratePinsJSON calls fn with every live pin in key (binary CID) order, without decoding
	// it, in constant memory. pinJSON is only valid during fn; fn's first error stops it.
	IteratePinsJSON(ctx context.Context, fn func(c api.Cid, pinJSON []byte) error) error
	// PinsRaw is IteratePinsJSON with the binary CID of each key instead of a decoded CID: no
	// allocation per pin. Both slices are only valid during fn.
	PinsRaw(ctx context.Context, fn func(cid, pinJSON []byte) error) error
	// LookupName calls fn with the live pins whose name equals name ignoring case, and
	// LookupMeta with those whose metadata holds key=value, from the store's indexes (callers
	// check the exact query). Both fail with api.ErrNotIndexed on a store of an
	// earlier version until `state upgrade` built the indexes.
	LookupName(ctx context.Context, name string, fn func(cid, pinJSON []byte) error) error
	LookupMeta(ctx context.Context, key, value string, fn func(cid, pinJSON []byte) error) error
	// CountPins is the number of live pins, from a counter the store maintains (no scan).
	CountPins() (int, error)
}

// Committer writes to the pinset: the pinset actor's facade, its single writer. Commit returns
// once the changes are durable (an acknowledged pin survives SIGKILL).
type Committer interface {
	Commit(ctx context.Context, changes ...messages.Change) ([]crdt.Op, error)
}

// Gate is an admission check run before a pin is stored (the tracker's and the batcher's
// queues). Full returns nil, or an error matching api.ErrQueueFull and api.ErrUnavailable whose
// text names the config key to change. It never blocks.
type Gate interface {
	Full() error
}

// Allocator picks the peers that hold a pin (allocate_by ranking, user allocations first,
// current allocations kept while at least opts' minimum of them are alive). opts carries
// validated replication factors other than -1 (the services answer -1, every peer, with empty
// allocations themselves); current is nil for a new pin. It fails with api.ErrUnavailable-class
// errors when too few peers can take the pin.
type Allocator interface {
	Allocate(ctx context.Context, c api.Cid, opts api.PinOptions, current []peer.ID) ([]peer.ID, error)
}

// Tracker is this peer's pin tracker (actors/tracker's facade): what is in flight here.
type Tracker interface {
	// Status is this peer's status of a pin of the pinset (remote, the state in flight, or the
	// IPFS node's answer).
	Status(ctx context.Context, pin api.Pin) (api.PinInfo, error)
	// StatusUnknown is the status of a CID that is not in the pinset (an unpin in flight, or
	// unpinned).
	StatusUnknown(ctx context.Context, c api.Cid) (api.PinInfo, error)
	// InFlight calls fn for a snapshot of every CID queued, running or failed (bounded by the
	// tracker's queue), in no order.
	InFlight(ctx context.Context, fn func(api.Cid, api.PinInfoShort) error) error
	// QueueLen is the number of CIDs queued or in progress (it sizes InFlight's snapshot).
	QueueLen() int
	// Recover retries an errored pin now and waits for that attempt to end.
	Recover(ctx context.Context, pin api.Pin) (api.PinInfo, error)
	// RecoverUnpin retries the failed unpin of a CID the pinset no longer holds and waits for
	// that attempt; another CID answers its status.
	RecoverUnpin(ctx context.Context, c api.Cid) (api.PinInfo, error)
	// Untrack cancels what is in flight for c and queues an unpin. Idempotent.
	Untrack(ctx context.Context, c api.Cid) error
}

// Members is the cluster's membership as this peer sees it.
type Members interface {
	// Self is this peer's ID.
	Self() peer.ID
	// Members is this peer plus every peer connected or with a valid ping metric, minus peers
	// removed with peers rm, sorted. It never fails: an actor that does not answer leaves its
	// part out.
	Members(ctx context.Context) []peer.ID
	// Known reports whether id is a member or a peer this peer still dials though it is down
	// (no longer among Members), and not removed; it fails when that cannot be told.
	Known(ctx context.Context, id peer.ID) (bool, error)
	// IsRemoved reports whether id was removed with peers rm.
	IsRemoved(id peer.ID) bool
	// PeerName is a peer's name (this peer's peername, another's ID).
	PeerName(id peer.ID) string
}

// Caller sends a request to another member's RPC actor (RPCActorName) over the remote layer and
// returns the reply message; every call passes the receiving peer's trust policy. Errors are the
// remote layer's (unreachable, timeout, forbidden: api.ErrForbidden).
type Caller interface {
	Call(ctx context.Context, to peer.ID, msg any) (any, error)
}

// IPFS is the part of the IPFS node the services use (ipfs.Backend's methods, same contract).
type IPFS interface {
	Resolve(ctx context.Context, path string) (api.Cid, error)
	Add(ctx context.Context, dir files.Directory, params api.AddParams, out ipfs.AddOutput) (api.Cid, error)
	ImportCAR(ctx context.Context, r io.Reader) (api.Cid, error)
	PinLs(ctx context.Context, fn func(c api.Cid, mode api.PinMode) error) error
	GC(ctx context.Context) ([]api.Cid, error)
	ID(ctx context.Context) (api.IPFSID, error)
}

// Metrics is the monitor's view of the metrics peers publish (actors/monitor's facade).
type Metrics interface {
	// Latest returns the latest valid metric of each peer named name.
	Latest(ctx context.Context, name string) ([]api.Metric, error)
	// Names lists the metric names seen.
	Names(ctx context.Context) ([]string, error)
	// Alerts lists metrics that expired recently.
	Alerts(ctx context.Context) ([]api.Alert, error)
}

// Node is what only the peer's assembly knows: its libp2p host and the removal of members.
type Node interface {
	// Addrs are this peer's listen multiaddrs, each with /p2p/<id>.
	Addrs() []string
	// PeerAddrs are the known multiaddrs of a member (from the peerstore), with /p2p/<id>.
	PeerAddrs(id peer.ID) []string
	// Connected lists the peers this host has connections to.
	Connected() []peer.ID
	// AnnounceRemoval tells every member that id was removed (peers rm) and forgets it here.
	// The cutoff is the last op of id held here, or atLeast when higher.
	AnnounceRemoval(ctx context.Context, id peer.ID, atLeast uint64)
	// SealWrites makes this peer refuse every write from now on (api.ErrUnavailable with
	// reason) and returns, once the writes it took are durable and broadcast (bounded), its
	// last own op: a peer about to leave, so that no pin it acknowledged is above the cutoff
	// of its removal. An error: the seal did not finish (later writes are refused all the
	// same); a broadcast not done in time is no error (the ops are durable).
	SealWrites(ctx context.Context, reason string) (uint64, error)
	// PullFrom pulls every op id holds that this peer lacks (anti-entropy, at once), those
	// the gossip is still delivering too.
	PullFrom(ctx context.Context, id peer.ID) error
	// Leave makes this peer leave the cluster (removed by by): it stops, and the daemon moves
	// its state to a backup. Idempotent; it does not block. removedBy: by is another member,
	// which pulls this peer's last ops before announcing the removal; the peer stays up
	// until the announcement arrives (bounded).
	Leave(by string, removedBy bool)
}
