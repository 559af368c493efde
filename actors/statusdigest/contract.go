package statusdigest

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/passgate"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// Store is the own digest and the replicas (persistence.Store). Calls block on Badger; the
// actor makes them from its workers only, one writer at a time.
type Store interface {
	OwnDigestVersion() (epoch, seq uint64, err error)
	WriteOwnDigest(changes []sd.Entry, since time.Time) (sd.Digest, error)
	OwnDigestPage(after []byte, limit int) (sd.Page, error)
	OwnDigestEach(ctx context.Context, fn func(sd.Entry) error) error
	ApplyDigest(p peer.ID, d sd.Digest, now time.Time) (sd.Meta, error)
	ApplyDeltas(p peer.ID, r *sd.Run, now time.Time) (sd.Meta, error)
	StartDigestPull(p peer.ID) (uint64, error)
	ApplyDigestPage(p peer.ID, gen uint64, pg sd.Page, first bool, now time.Time) error
	FinishDigestPull(p peer.ID, gen, epoch, seq uint64, now time.Time) (sd.Meta, error)
	DropDigest(p peer.ID) error
}

// Topic publishes on <cluster_name>/status (gossip.Topics).
type Topic interface {
	PublishStatus(ctx context.Context, data []byte) error
}

// Requester sends a request to another peer's actor over the remote layer (remote.Remote).
type Requester interface {
	Request(ctx context.Context, to *actor.PID, msg any) (any, error)
	PID(id peer.ID, name string) *actor.PID
}

// Members tells whose answers count (roster.Roster).
type Members interface {
	// Allowed reports whether id is trusted and not removed.
	Allowed(id peer.ID) bool
	// IsRemoved reports whether id was removed from the cluster (peers rm).
	IsRemoved(id peer.ID) bool
}

// Local is this peer's local status pass (cluster.StatusService.LocalDigest): fn gets every
// pin of the pinset in binary CID order with its status here (remote when not allocated
// here). It blocks for the whole pass.
type Local interface {
	LocalDigest(ctx context.Context, fn func(cid []byte, st api.PinInfoShort) error) error
}

// Config paces the actor.
type Config struct {
	// FlushEvery is how long tracker changes wait to be published as one delta.
	FlushEvery time.Duration
	// Heartbeat is how often the version alone is published (half the ping interval: a
	// replica stays fresher than the ping TTL with one heartbeat lost).
	Heartbeat time.Duration
	// Resync is cluster.state_sync_interval: a reconcile with a local status pass is due on
	// every reconcileEvery-th tick, or on the next one while the tracker queues operations
	// without telling their change (Deps.Unnoted) or after a reconcile that could not finish.
	Resync time.Duration
	// Rate and Burst bound the digests taken from one peer (messages per second).
	Rate  float64
	Burst int
}

// Default is the pace of a peer with the default ping interval (15s).
func Default() Config {
	return Config{FlushEvery: 200 * time.Millisecond, Heartbeat: 7500 * time.Millisecond, Resync: 5 * time.Minute, Rate: 20, Burst: 100}
}

// Deps are the actor's dependencies; all are required.
type Deps struct {
	Self    peer.ID
	Store   Store
	Topic   Topic
	Remote  Requester
	Members Members
	Local   Local
	Config  Config
	// Passes is the peer's gate for background passes over the whole pinset: a reconcile
	// waits there for the healer's state sync (internal/passgate); deltas do not wait for it
	// (reconcile_run.go). Nil: no wait.
	Passes passgate.Gate
	// Transfers is the peer's gate for bulk transfers: a pull of a whole digest takes turns
	// there with snapshot loads (syncer.WithTransfers). Nil: no wait.
	Transfers passgate.Gate
	// Unnoted is the tracker's count of operations queued without a status change told
	// (tracker.Tracker.Unnoted). Nil: none ever are.
	Unnoted func() uint64
	// Versions reads this peer's version vector, which each heartbeat announces
	// (crdt.Announce; actors/syncer/announced.go says why). Nil: heartbeats carry none.
	Versions VersionReader
	// Identity is this peer's peername and its IPFS node's peer ID, which each heartbeat tells
	// (global status shows them). It may block (asking the IPFS node): the heartbeat worker
	// calls it, under the actor's context. An empty ipfsID (the node did not answer) is
	// not told. Nil: heartbeats tell neither.
	Identity func(ctx context.Context) (peername, ipfsID string)
}

// VersionReader reads this peer's version vector (persistence.Store).
type VersionReader interface {
	VersionVector() (map[peer.ID]uint64, error)
}
