package peer

import (
	"context"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/syncer"
)

// Tombstone collection is the collector actor's (actors/syncer/collector.go, which explains
// it); the pinset actor writes. This file only gives the collector its view of the cluster.

// gcFreshness is how recent (in rebroadcast intervals) each member's version vector must be.
const gcFreshness = 3

// collectorConfig is the collector's rhythm from the peer's config.
func (p *Peer) collectorConfig() syncer.CollectorConfig {
	return syncer.CollectorConfig{Self: p.ident.ID, Interval: p.cfg.Cluster.StateSyncInterval.D(),
		Fresh:   gcFreshness * p.cfg.Consensus.CRDT.RebroadcastInterval.D(),
		Horizon: p.cfg.Consensus.CRDT.AbsentPeerHorizon.D()}
}

// gcMembership is the peer's membership as the collector sees it.
type gcMembership struct{ p *Peer }

var _ syncer.Membership = gcMembership{}

func (m gcMembership) Visible(ctx context.Context) []libp2ppeer.ID { return m.p.members(ctx) }
func (m gcMembership) Trusted(id libp2ppeer.ID) bool               { return m.p.trusted(id) }
func (m gcMembership) Removed(id libp2ppeer.ID) bool               { return m.p.members_.isRemoved(id) }

// touchMember records that a trusted peer answered a pull (the collector throttles the writes).
func (p *Peer) touchMember(id libp2ppeer.ID) {
	if p.collector != nil {
		p.collector.Heard(id)
	}
}
