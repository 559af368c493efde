package peer

import (
	"context"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/statusdigest"
	"github.com/pincluster/pincluster/cluster"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/persistence"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// startDigests spawns the status digest actor (actors/statusdigest) and tells the tracker to
// report its status changes to it. The services must exist: the actor's reconcile runs their
// local status pass.
func (p *Peer) startDigests() error {
	ping := p.cfg.Cluster.MonitorPingInterval.D()
	cfg := statusdigest.Default()
	if ping > 0 {
		cfg.Heartbeat = ping / 2
	}
	if sync := p.cfg.Cluster.StateSyncInterval.D(); sync > 0 {
		cfg.Resync = sync
	}
	var err error
	if p.digests, err = statusdigest.Spawn(p.root, statusdigest.Deps{Self: p.ident.ID, Store: p.store, Topic: p.topics,
		Remote: p.remote, Members: p.roster, Local: p.Services.StatusService, Config: cfg, Passes: p.passes, Transfers: p.transfers, Unnoted: p.tracker.Unnoted,
		Versions: p.store, Identity: (&digestIdentity{name: p.cfg.Cluster.Peername, ipfs: ipfs.IDCache{Node: p.ipfs}}).identify}, p.log); err != nil {
		return err
	}
	p.tracker.NotifyChanges(p.digests.PID())
	p.roster.NotifyRemovals(p.digests.PID()) // a removed peer's replica is deleted
	return nil
}

// digestIdentity is what this peer's heartbeats tell of it (statusdigest.Deps.Identity): the
// configured peername and the IPFS node's peer ID (ipfs.IDCache: re-asked every minute).
type digestIdentity struct {
	name string
	ipfs ipfs.IDCache
}

func (d *digestIdentity) identify(ctx context.Context) (peername, ipfsID string) {
	return d.name, d.ipfs.Get(ctx)
}

// digestReplica is the services' view of the replicas (cluster.DigestReplica).
type digestReplica struct{ s *persistence.Store }

func (d digestReplica) DigestMeta(id libp2ppeer.ID) (sd.Meta, bool, error) { return d.s.DigestMeta(id) }

func (d digestReplica) OpenDigestReader() cluster.DigestReader { return d.s.OpenDigestView() }

var _ cluster.DigestReplica = digestReplica{}
