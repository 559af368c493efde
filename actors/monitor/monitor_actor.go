package monitor

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/telemetry"
)

// entry is the latest metric of one (peer, name) and whether its expiry was alerted.
type entry struct {
	m       api.Metric
	alerted bool
}

// monitorActor owns the metrics table and the alert history. Everything it does is in memory,
// so it all runs inside Receive. A restarted instance starts empty: metrics come back within a
// ping interval, and a peer that died meanwhile is caught by the healer's sweep.
type monitorActor struct {
	self peer.ID
	cfg  Config
	subs *subscribers
	log  *slog.Logger
	now  func() time.Time

	metrics map[peer.ID]map[string]*entry
	alerts  []api.Alert // oldest first, at most cfg.AlertHistory
	down    map[peer.ID]bool
	// outbox holds the events of the message being handled; Receive sends them to the
	// subscribers afterwards (the handlers stay free of the actor context, for tests).
	outbox []any
	// timer schedules the next CheckMetrics. (protoactor's scheduler package races between its
	// cancel func and its timer goroutine, so a plain timer sends the message.)
	timer *time.Timer
}

func newMonitorActor(self peer.ID, cfg Config, subs *subscribers, log *slog.Logger) *monitorActor {
	if subs == nil {
		subs = &subscribers{}
	}
	return &monitorActor{
		self: self, cfg: cfg, subs: subs, log: log, now: time.Now,
		metrics: make(map[peer.ID]map[string]*entry), down: make(map[peer.ID]bool),
	}
}

func (a *monitorActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if seed := a.subs.seedPID(); seed != nil {
			ctx.Request(seed, messages.AllMetricsRequest{})
		}
		a.schedule(ctx)
	case messages.AllMetricsResponse:
		for _, byName := range msg.Metrics { // the seed's table (see Monitor.SeedFrom)
			for _, m := range byName {
				a.onMetric(m)
			}
		}
	case *actor.Stopping, *actor.Restarting:
		// A restarted instance starts its own timer chain: the old one ends here.
		if a.timer != nil {
			a.timer.Stop()
		}
	case messages.MetricReceived:
		a.onMetric(msg.Metric)
	case messages.CheckMetrics:
		a.onCheck()
		a.schedule(ctx)
	case messages.ForgetPeer:
		a.onForget(msg.Peer)
	case messages.PeerRemoved:
		a.onForget(msg.Peer)
	case subscribe:
		a.subs.add(msg.pid)
	case messages.LatestMetricsRequest:
		ctx.Respond(messages.LatestMetricsResponse{Metrics: a.latest(msg.Name)})
	case messages.AllMetricsRequest:
		ctx.Respond(messages.AllMetricsResponse{Metrics: a.all()})
	case messages.MetricNamesRequest:
		ctx.Respond(messages.MetricNamesResponse{Names: a.names()})
	case messages.LivePeersRequest:
		ctx.Respond(messages.LivePeersResponse{Peers: a.livePeers()})
	case messages.AlertsRequest:
		ctx.Respond(messages.AlertsResponse{Alerts: slices.Clone(a.alerts)})
	case *actor.Stopped:
	default:
		a.log.Warn("monitor: unknown message", "type", fmt.Sprintf("%T", msg))
	}
	a.flush(ctx)
}

// schedule sends the next CheckMetrics after the check interval.
func (a *monitorActor) schedule(ctx actor.Context) {
	a.timer = timer.After(ctx, a.cfg.tick(), messages.CheckMetrics{})
}

// flush sends the events of the last message to every subscriber.
func (a *monitorActor) flush(ctx actor.Context) {
	if len(a.outbox) == 0 {
		return
	}
	for _, pid := range a.subs.list() {
		for _, ev := range a.outbox {
			ctx.Send(pid, ev)
		}
	}
	a.outbox = a.outbox[:0]
}

// onMetric stores m as the latest of its (peer, name). A metric that is already expired is
// stored as invalid: it does not re-arm the alert (a metric never seen valid is never alerted).
func (a *monitorActor) onMetric(m api.Metric) {
	if m.Name == "" || m.Peer == "" {
		a.log.Debug("monitor: dropping metric without name or peer", "name", m.Name, "peer", m.Peer)
		return
	}
	now := a.now().UnixNano()
	m.Valid = m.Expire > now
	byName := a.metrics[m.Peer]
	if byName == nil {
		byName = make(map[string]*entry)
		a.metrics[m.Peer] = byName
	}
	prev := byName[m.Name]
	alerted := false
	if !m.Valid {
		alerted = prev == nil || prev.alerted
	}
	byName[m.Name] = &entry{m: m, alerted: alerted}
	if m.Name == MetricPing && m.Valid && (prev == nil || prev.alerted || a.down[m.Peer]) {
		delete(a.down, m.Peer)
		a.outbox = append(a.outbox, messages.PeerUp{Peer: m.Peer})
	}
}

// onCheck raises one alert for every metric that expired since it was last renewed.
func (a *monitorActor) onCheck() {
	now := a.now().UnixNano()
	var fired []api.Alert
	for _, byName := range a.metrics {
		for _, e := range byName {
			if e.alerted || e.m.Expire > now {
				continue
			}
			e.alerted = true
			m := e.m
			m.Valid = false
			fired = append(fired, api.Alert{Metric: m, TriggeredAt: now})
		}
	}
	slices.SortFunc(fired, func(x, y api.Alert) int {
		if c := cmp.Compare(x.Peer, y.Peer); c != 0 {
			return c
		}
		return cmp.Compare(x.Name, y.Name)
	})
	for _, al := range fired {
		a.record(al)
	}
}

func (a *monitorActor) record(al api.Alert) {
	if len(a.alerts) >= a.cfg.AlertHistory {
		n := copy(a.alerts, a.alerts[len(a.alerts)-a.cfg.AlertHistory+1:])
		a.alerts = a.alerts[:n]
	}
	a.alerts = append(a.alerts, al)
	a.log.Info("metric expired", "peer", al.Peer, "metric", al.Name)
	telemetry.AlertsRaised.WithLabelValues(al.Name).Inc()
	a.outbox = append(a.outbox, messages.AlertRaised{Alert: al})
	if al.Name == MetricPing {
		a.down[al.Peer] = true
		a.outbox = append(a.outbox, messages.PeerDown{Peer: al.Peer})
	}
}

func (a *monitorActor) onForget(p peer.ID) {
	delete(a.metrics, p)
	delete(a.down, p)
}

func (a *monitorActor) latest(name string) []api.Metric {
	now := a.now().UnixNano()
	out := []api.Metric{}
	for _, byName := range a.metrics {
		if e, ok := byName[name]; ok && e.m.Expire > now {
			m := e.m
			m.Valid = true
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(x, y api.Metric) int { return cmp.Compare(x.Peer, y.Peer) })
	return out
}

func (a *monitorActor) all() map[peer.ID]map[string]api.Metric {
	now := a.now().UnixNano()
	out := make(map[peer.ID]map[string]api.Metric, len(a.metrics))
	for p, byName := range a.metrics {
		var valid map[string]api.Metric
		for name, e := range byName {
			if e.m.Expire <= now {
				continue
			}
			if valid == nil {
				valid = make(map[string]api.Metric, len(byName))
			}
			m := e.m
			m.Valid = true
			valid[name] = m
		}
		if valid != nil {
			out[p] = valid
		}
	}
	return out
}

func (a *monitorActor) names() []string {
	set := make(map[string]struct{})
	for _, byName := range a.metrics {
		for name := range byName {
			set[name] = struct{}{}
		}
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func (a *monitorActor) livePeers() []peer.ID {
	ms := a.latest(MetricPing)
	out := make([]peer.ID, len(ms))
	for i, m := range ms {
		out[i] = m.Peer
	}
	return out
}
