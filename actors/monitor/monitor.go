package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	actorask "github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// ErrStopped is returned by facade calls after Stop.
var ErrStopped = fmt.Errorf("%w: the monitor is stopped", api.ErrUnavailable)

// DefaultRequestTimeout bounds a facade call whose ctx has no deadline.
const DefaultRequestTimeout = 30 * time.Second

// Monitor is the facade of the monitor actor. Its methods are safe for concurrent use.
type Monitor struct {
	system *actor.ActorSystem
	pid    *actor.PID
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Spawn starts the monitor actor (named "monitor") and its check ticker. Zero fields of cfg
// take their Default.
//
// onAlert (may be nil) is called once for each metric that expires without being renewed,
// from inside the actor: it must not block or call the Monitor's query methods (Publish and
// Forget are fine); hand the alert to a channel or another actor. A panic in it is logged and
// swallowed. After an alert, the same (peer, name) alerts again only after a fresh metric
// arrived and expired. An alert on MetricPing means the peer is down.
func Spawn(system *actor.ActorSystem, self peer.ID, cfg Config, onAlert func(api.Alert), log *slog.Logger) (*Monitor, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	a := newMonitorActor(self, cfg, onAlert, log.With("component", "monitor"))
	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return a }), "monitor")
	if err != nil {
		return nil, fmt.Errorf("monitor: spawn: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Monitor{system: system, pid: pid, cancel: cancel, done: make(chan struct{})}
	go m.tick(ctx, cfg.tick())
	return m, nil
}

// tick sends CheckMetrics every d until ctx ends.
func (m *Monitor) tick(ctx context.Context, d time.Duration) {
	defer close(m.done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.system.Root.Send(m.pid, messages.CheckMetrics{})
		}
	}
}

// Publish hands a received metric (from pubsub or a local informer) to the monitor. It never
// blocks; it sets ReceivedAt. A metric already expired is stored as invalid.
func (m *Monitor) Publish(metric api.Metric) {
	metric.ReceivedAt = time.Now().UnixNano()
	m.system.Root.Send(m.pid, messages.MetricReceived{Metric: metric})
}

// Forget drops every metric of id without raising alerts (peers rm). It never blocks.
func (m *Monitor) Forget(id peer.ID) {
	m.system.Root.Send(m.pid, messages.ForgetPeer{Peer: id})
}

// Latest returns the latest valid metric named name of each peer, sorted by peer ID.
func (m *Monitor) Latest(ctx context.Context, name string) ([]api.Metric, error) {
	r, err := ask[messages.LatestMetricsResponse](ctx, m, messages.LatestMetricsRequest{Name: name})
	return r.Metrics, err
}

// LatestAll returns the valid metrics by peer and name (the allocator's candidates). The maps
// are the caller's.
func (m *Monitor) LatestAll(ctx context.Context) (map[peer.ID]map[string]api.Metric, error) {
	r, err := ask[messages.AllMetricsResponse](ctx, m, messages.AllMetricsRequest{})
	return r.Metrics, err
}

// Names returns the names of the metrics the monitor holds (valid or not), sorted.
func (m *Monitor) Names(ctx context.Context) ([]string, error) {
	r, err := ask[messages.MetricNamesResponse](ctx, m, messages.MetricNamesRequest{})
	return r.Names, err
}

// LivePeers returns the peers whose "ping" metric is valid, sorted (this peer included when it
// publishes its own ping).
func (m *Monitor) LivePeers(ctx context.Context) ([]peer.ID, error) {
	r, err := ask[messages.LivePeersResponse](ctx, m, messages.LivePeersRequest{})
	return r.Peers, err
}

// Alerts returns the recent alerts (at most alert_history), newest last.
func (m *Monitor) Alerts(ctx context.Context) ([]api.Alert, error) {
	r, err := ask[messages.AlertsResponse](ctx, m, messages.AlertsRequest{})
	return r.Alerts, err
}

// Stop stops the ticker and the actor; later queries return ErrStopped. Idempotent.
func (m *Monitor) Stop() {
	m.once.Do(func() {
		m.cancel()
		<-m.done
		_ = m.system.Root.StopFuture(m.pid).Wait()
	})
}

// ask sends msg to the actor and waits for a reply of type R.
func ask[R any](ctx context.Context, m *Monitor, msg any) (R, error) {
	return actorask.Call[R](ctx, m.system, m.pid, msg, DefaultRequestTimeout, "the monitor", ErrStopped)
}
