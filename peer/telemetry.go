package peer

import (
	"context"
	"log/slog"
	"time"

	"github.com/pincluster/pincluster/actors/membership"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/telemetry"
)

// startMetrics serves the Prometheus endpoint when observations.metrics.enable_stats is set.
func (p *Peer) startMetrics(log *slog.Logger) (err error) {
	if !p.cfg.Observations.Metrics.EnableStats {
		return nil
	}
	members := func(ctx context.Context) int { return len(p.roster.Members(ctx)) }
	parts := telemetry.Parts{Store: p.store, Members: members, Alerts: p.monitor.Alerts, Tracker: p.trackerCounts,
		Connections: p.connections}
	if p.metrics, err = telemetry.New(p.cfg.Observations.Metrics, telemetry.FromParts(parts), log); err != nil {
		return err
	}
	return p.metrics.Start()
}

// connections counts the peers the host is connected to and, of those, the membership's links.
func (p *Peer) connections() (all, links int) {
	cm := p.host.ConnManager()
	for _, id := range p.host.Network().Peers() {
		all++
		if cm.IsProtected(id, membership.ProtectTag) {
			links++
		}
	}
	return all, links
}

// within5s runs a server's graceful shutdown with a 5 s grace.
func within5s(shutdown func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return shutdown(ctx)
}

// trackerCounts are the tracker's counts for a scrape; entries queued beyond its window count
// as pin_queued (most queued work is pins).
func (p *Peer) trackerCounts(ctx context.Context) (map[api.TrackerStatus]int64, int64, int64, error) {
	s, err := p.tracker.Summary(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	s.ByStatus[api.TrackerStatusPinQueued] += s.Beyond
	return s.ByStatus, s.QueuePriority, s.QueueNormal, nil
}
