package peer

import (
	"context"
	"io"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/allocator"
	"github.com/pincluster/pincluster/actors/batcher"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/actors/tracker"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/rest"
	"github.com/pincluster/pincluster/cluster"
	"github.com/pincluster/pincluster/ingest"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
	"github.com/pincluster/pincluster/remote"
)

// The adapters that give the services (cluster/) what only the peer's assembly has; the
// facades and the store satisfy the other contracts as they are.

var (
	_ cluster.PinStore  = (*persistence.Store)(nil)
	_ cluster.Committer = (*pinset.Pinset)(nil)
	_ cluster.Gate      = (*tracker.Tracker)(nil)
	_ cluster.Gate      = (*batcher.Batcher)(nil)
	_ cluster.Allocator = (*allocator.Allocator)(nil)
	_ cluster.Tracker   = (*tracker.Tracker)(nil)
	_ cluster.IPFS      = ipfs.Backend(nil)
	_ cluster.Metrics   = (*monitor.Monitor)(nil)
)

// remoteCaller sends the services' requests to other members' RPC actors.
type remoteCaller struct{ r *remote.Remote }

var _ cluster.Caller = remoteCaller{}

func (c remoteCaller) Call(ctx context.Context, to libp2ppeer.ID, msg any) (any, error) {
	return c.r.Request(ctx, c.r.PID(to, cluster.RPCActorName), msg)
}

// node is the services' view of this peer's host and of member removal.
type node struct{ p *Peer }

var _ cluster.Node = node{}

func (n node) Addrs() []string {
	var out []string
	for _, a := range n.p.host.Addrs() {
		out = append(out, a.String()+"/p2p/"+n.p.ident.ID.String())
	}
	return out
}
func (n node) Connected() []libp2ppeer.ID { return n.p.host.Network().Peers() }

func (n node) PeerAddrs(id libp2ppeer.ID) []string {
	var out []string
	for _, a := range n.p.host.Peerstore().Addrs(id) {
		out = append(out, a.String()+"/p2p/"+id.String())
	}
	return out
}

func (n node) AnnounceRemoval(ctx context.Context, id libp2ppeer.ID, atLeast uint64) {
	n.p.roster.AnnounceRemoval(ctx, id, atLeast)
}

func (n node) Leave(by string, removedBy bool) {
	grace := leaveReplyGrace
	if removedBy {
		grace = leaveForPull
	}
	n.p.onLeaveRequest(&messages.LeaveRequest{By: by}, grace)
}

// sealFlushBound bounds the wait for the broadcast of a leaving peer's last ops: past it they
// stay in its backup, and the others pull what reached any of them.
const sealFlushBound = 10 * time.Second

func (n node) SealWrites(ctx context.Context, reason string) (uint64, error) {
	last, err := n.p.pinset.Seal(ctx, reason)
	if err != nil {
		return 0, err
	}
	if err := n.p.batcher.WaitPublished(ctx, sealFlushBound); err != nil {
		// Durable and under the cutoff all the same: the others pull what they lack from
		// whoever got it (peers rm pulls from this peer before it announces).
		n.p.log.Warn("sealed: this peer's last ops are not all broadcast yet", "err", err)
	}
	return last, nil
}

func (n node) PullFrom(ctx context.Context, id libp2ppeer.ID) error {
	_, err := n.p.syncer.PullAll(ctx, id)
	return err
}

// newServices builds the request-facing services over the peer's parts.
func (p *Peer) newServices() (*cluster.Services, error) {
	return cluster.New(cluster.Deps{
		Config: cluster.Config{ReplicationFactorMin: p.cfg.Cluster.ReplicationFactorMin, ReplicationFactorMax: p.cfg.Cluster.ReplicationFactorMax,
			ConcurrentPins: p.cfg.Tracker.ConcurrentPins, Version: Version, Peername: p.cfg.Cluster.Peername,
			Follower: p.cfg.Cluster.FollowerMode, DigestTTL: 2 * p.cfg.Cluster.MonitorPingInterval.D()},
		Store:     p.store,
		Pinset:    p.pinset,
		Gates:     []cluster.Gate{p.batcher, p.tracker},
		Allocator: p.allocator,
		Tracker:   p.tracker,
		Members:   p.roster,
		Remote:    remoteCaller{p.remote},
		IPFS:      p.ipfs,
		Metrics:   p.monitor,
		Node:      node{p},
		Log:       p.log,
		Blocks:    p.blocksForServices(),
		Digests:   digestReplica{p.store},
		Applied:   p.pinset,
		Resync:    func() { p.system.Root.Send(p.healer.PID(), messages.StateSyncWanted{}) },
	})
}

// restServices hands the services to the REST server, one interface per concern.
func restServices(s *cluster.Services, ing rest.Ingester) rest.Services {
	return rest.Services{Pins: s.PinService, Status: s.StatusService, Peers: s.PeerService, Health: s.HealthService, Add: s.AddService, Ingest: ing,
		Guard: s.Config().Refuse}
}

var _ rest.Ingester = (*Peer)(nil)

// The REST server finds the status fast paths by interface: these keep them found.
var (
	_ rest.FreshStatus      = (*cluster.StatusService)(nil)
	_ rest.GlobalStatusJSON = (*cluster.StatusService)(nil)
	_ rest.TextStatus       = (*cluster.StatusService)(nil)
)

// Ingest runs one batch (rest.Ingester) with the ingest service over the peer's parts.
func (p *Peer) Ingest(ctx context.Context, body io.Reader, op api.BatchOp, defaults api.PinOptions, emit func(api.BatchEvent) error) (api.BatchEvent, error) {
	if err := p.Services.Config().Refuse("ingest pins"); err != nil {
		return api.BatchEvent{}, err
	}
	svc := ingest.New(ingest.Parts{Store: p.store, Allocator: p.allocator, Batcher: p.batcher, Tracker: p.tracker, Pinset: p.pinset,
		Replicas: p.Services.PeerService, Self: p.host.ID()}, ingest.Config{
		ReplicationFactorMin: p.cfg.Cluster.ReplicationFactorMin,
		ReplicationFactorMax: p.cfg.Cluster.ReplicationFactorMax,
	})
	return svc.Run(ctx, body, ingest.Request{Op: op, Defaults: defaults}, emit)
}
