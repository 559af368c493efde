package peer

import (
	"github.com/pincluster/pincluster/actors/syncer"
)

// Tombstone collection is the collector actor's (actors/syncer/collector.go, which explains
// it); the pinset actor writes, and the roster is its view of the cluster. This file only
// gives it its rhythm.

// gcFreshness is how recent (in rebroadcast intervals) each member's version vector must be.
const gcFreshness = 3

// collectorConfig is the collector's rhythm from the peer's config.
func (p *Peer) collectorConfig() syncer.CollectorConfig {
	return syncer.CollectorConfig{Self: p.ident.ID, Interval: p.cfg.Cluster.StateSyncInterval.D(),
		Fresh:   gcFreshness * p.cfg.Consensus.CRDT.RebroadcastInterval.D(),
		Horizon: p.cfg.Consensus.CRDT.AbsentPeerHorizon.D()}
}
