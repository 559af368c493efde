package peer

import (
	"context"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// onAlert is called by the monitor (from its actor: it must not block) when a metric expires.
// An expired ping means the peer is down: with repinning enabled, its pins that fall under
// replication_factor_min are reallocated.
func (p *Peer) onAlert(a api.Alert) {
	if a.Name != "ping" {
		return
	}
	p.log.Warn("peer is down (its ping metric expired)", "peer", a.Peer)
	if p.cfg.Cluster.DisableRepinning || a.Peer == p.ident.ID {
		return
	}
	if p.ctx.Err() == nil {
		p.goLoop(func() { p.repin(p.ctx, a.Peer) })
	}
}

// repin reallocates under-replicated pins: those allocated to dead, or, when dead is "", every
// pin with fewer than replication_factor_min live allocations (the periodic sweep that retries
// what an alert could not place, and pins of removed peers). Every peer sees the alert; to avoid
// every peer committing the same change, only the live member with the lowest ID does the work
// (the others' view converges through the pinset).
func (p *Peer) repin(ctx context.Context, dead libp2ppeer.ID) {
	live, err := p.monitor.LivePeers(ctx)
	if err != nil || len(live) == 0 {
		return
	}
	leader := live[0]
	for _, id := range live {
		if id < leader {
			leader = id
		}
	}
	if leader != p.ident.ID {
		return
	}
	candidates, err := p.monitor.LatestAll(ctx)
	if err != nil {
		return
	}
	dropDead(candidates)
	var changes []messages.Change
	flush := func() {
		if len(changes) == 0 {
			return
		}
		if _, err := p.pinset.Commit(ctx, changes...); err != nil {
			p.log.Warn("repinning: commit", "pins", len(changes), "err", err)
		}
		changes = changes[:0]
	}
	n := 0
	err = p.store.IteratePins(ctx, func(pin api.Pin) error {
		if pin.ReplicationFactorMin == -1 || (dead != "" && !contains(pin.Allocations, dead)) {
			return nil
		}
		alive := 0
		for _, a := range pin.Allocations {
			if _, ok := candidates[a]; ok {
				alive++
			}
		}
		if alive >= pin.ReplicationFactorMin {
			return nil // between min and max: left alone
		}
		allocs, err := p.allocator.Allocate(ctx, messages.AllocateRequest{Cid: pin.Cid, Min: pin.ReplicationFactorMin,
			Max: pin.ReplicationFactorMax, Current: pin.Allocations, User: pin.UserAllocations, Candidates: candidates})
		if err != nil {
			p.log.Warn("repinning: cannot reallocate", "cid", pin.Cid, "err", err)
			return nil
		}
		pin.Allocations = allocs
		pin.Timestamp = time.Now().UTC()
		changes = append(changes, messages.Change{Kind: messages.OpPin, Pin: pin})
		n++
		if len(changes) >= 256 {
			flush()
		}
		return nil
	})
	flush()
	if err != nil {
		p.log.Warn("repinning: iterating the pinset", "err", err)
	}
	if n > 0 {
		p.log.Info("repinning: reallocated under-replicated pins", "dead peer", dead, "pins", n)
	}
}

// repinSweep runs the periodic repin once the monitor has had time to hear from every live peer
// (right after a start, too few peers look alive and every pin would look under-replicated).
func (p *Peer) repinSweep(ctx context.Context) {
	settle := 3 * 2 * p.cfg.Cluster.MonitorPingInterval.D()
	if p.cfg.Cluster.DisableRepinning || time.Since(p.started) < settle {
		return
	}
	p.repin(ctx, "")
}

// dropDead removes the peers without a valid ping metric: a dead peer's other metrics outlive its
// ping when informer.metric_ttl exceeds the ping's TTL (2*monitor_ping_interval), and counting
// it alive would allocate new pins to it and, as repinning runs only on the alert, leave its
// pins under-replicated for good.
func dropDead(candidates map[libp2ppeer.ID]map[string]api.Metric) {
	for id, ms := range candidates {
		if _, ok := ms[monitor.MetricPing]; !ok {
			delete(candidates, id)
		}
	}
}

func contains(ids []libp2ppeer.ID, id libp2ppeer.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
