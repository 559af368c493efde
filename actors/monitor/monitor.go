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
	"github.com/pincluster/pincluster/actors/root"
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
	subs   *subscribers
	once   sync.Once
}

// Spawn starts the monitor actor (named "monitor") under parent. Zero fields of cfg take their
// Default. The actor checks for expired metrics on a scheduled CheckMetrics message.
//
// Each metric that expires without being renewed raises one alert, sent as
// messages.AlertRaised to every subscriber (Subscribe); an expired MetricPing also sends
// messages.PeerDown, and a ping valid again messages.PeerUp. After an alert, the same (peer,
// name) alerts again only after a fresh metric arrived and expired.
func Spawn(parent root.Parent, self peer.ID, cfg Config, log *slog.Logger) (*Monitor, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "monitor")
	subs := &subscribers{}
	props := actor.PropsFromProducer(func() actor.Actor { return newMonitorActor(self, cfg, subs, log) })
	pid, err := parent.SpawnNamed(props, "monitor")
	if err != nil {
		return nil, fmt.Errorf("monitor: spawn: %w", err)
	}
	return &Monitor{system: parent.ActorSystem(), pid: pid, subs: subs}, nil
}

// Subscribe adds pid to the receivers of AlertRaised, PeerDown and PeerUp, for good (a
// restarted monitor keeps its subscribers). It never blocks.
func (m *Monitor) Subscribe(pid *actor.PID) {
	m.system.Root.Send(m.pid, subscribe{pid: pid})
}

// subscribe is Subscribe's message: the actor records the PID in the set its restarts share.
type subscribe struct{ pid *actor.PID }

// SeedFrom names an actor that holds metrics too (the allocator): a restarted monitor asks it
// (messages.AllMetricsRequest, answered by message) for them instead of starting empty for a
// ping interval. Call it once, after Spawn.
func (m *Monitor) SeedFrom(pid *actor.PID) { m.subs.setSeed(pid) }

// subscribers outlives actor instances (wiring, not state): a restarted monitor sends to the
// same PIDs and seeds from the same actor.
type subscribers struct {
	mu   sync.Mutex
	pids []*actor.PID
	seed *actor.PID
}

func (s *subscribers) setSeed(pid *actor.PID) {
	s.mu.Lock()
	s.seed = pid
	s.mu.Unlock()
}

func (s *subscribers) seedPID() *actor.PID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seed
}

func (s *subscribers) add(pid *actor.PID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pids {
		if p.Equal(pid) {
			return
		}
	}
	s.pids = append(s.pids, pid)
}

func (s *subscribers) list() []*actor.PID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*actor.PID(nil), s.pids...)
}

// PID is the monitor actor's address (the peer sends it PeerRemoved; tests send it messages).
func (m *Monitor) PID() *actor.PID { return m.pid }

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

// Stop stops the actor (and its timer); later queries return ErrStopped. Idempotent.
func (m *Monitor) Stop() {
	m.once.Do(func() {
		_ = m.system.Root.StopFuture(m.pid).Wait()
	})
}

// ask sends msg to the actor and waits for a reply of type R.
func ask[R any](ctx context.Context, m *Monitor, msg any) (R, error) {
	return actorask.Call[R](ctx, m.system, m.pid, msg, DefaultRequestTimeout, "the monitor", ErrStopped)
}
