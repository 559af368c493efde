package allocator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// metricPing is the liveness metric (monitor.MetricPing; not imported to keep the allocator
// free of the monitor): a peer without a valid ping is not a candidate, whatever its other
// metrics' TTL.
const metricPing = "ping"

// metricFollower marks a follower peer (monitor.MetricFollower, not imported for the same
// reason): see follower in rank.go.
const metricFollower = "follower"

// allocatorActor keeps the latest metric of each live peer, fed by its own subscription to the
// metrics topic and by this peer's informer, and the Ranking built from them. The ranking is
// rebuilt lazily, at the first Allocate after a metric changed or one of its metrics expired,
// so a burst of pins shares one ranking and a stream of unchanged renewals costs nothing.
// Everything runs inside Receive (CPU only); the subscription is read by an I/O worker.
type allocatorActor struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	now  func() time.Time

	metrics map[peer.ID]map[string]api.Metric
	removed map[peer.ID]bool

	ranking    *Ranking
	validUntil int64 // unix ns: the ranking's earliest metric expiry
	dirty      bool

	sub    MetricsSubscription
	cancel context.CancelFunc

	// seeding is set from start until the monitor's answer (or seedTimeout); allocations
	// wait in deferred meanwhile.
	seeding  bool
	deferred []deferredAllocate
	seedT    *time.Timer
	// deferredMany are batch requests (many.go) waiting for the seed, like deferred.
	deferredMany []deferredMany
	// restarted marks an instance made by a restart; until warmUntil, an allocation that
	// finds too few peers waits in warming for the next metrics (Deps.Warmup).
	restarted bool
	warmUntil time.Time
	warming   []deferredAllocate
	warmT     *time.Timer
}

// deferredAllocate is an Allocate that arrived while seeding.
type deferredAllocate struct {
	sender *actor.PID
	req    messages.AllocateRequest
}

// seedTimeout bounds the wait for the monitor's answer at start.
const seedTimeout = 2 * time.Second

// seedExpired: the monitor did not answer in time; allocate from what arrived.
type seedExpired struct{}

// warmupEnded: a restarted instance stops waiting for metrics; waiting allocations are
// answered with what it holds.
type warmupEnded struct{}

func newAllocatorActor(cfg Config, deps Deps, log *slog.Logger) *allocatorActor {
	return &allocatorActor{cfg: cfg, deps: deps, log: log, now: time.Now,
		metrics: map[peer.ID]map[string]api.Metric{}, removed: map[peer.ID]bool{}}
}

func (a *allocatorActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.unsubscribe()
		if a.seedT != nil {
			a.seedT.Stop()
		}
		if a.warmT != nil {
			a.warmT.Stop()
		}
	case messages.AllMetricsResponse:
		for _, byName := range msg.Metrics {
			for _, m := range byName {
				a.onMetric(m)
			}
		}
		a.seeded(ctx)
	case seedExpired:
		a.seeded(ctx)
	case warmupEnded:
		a.retryWarming(ctx, true)
	case messages.MetricReceived:
		a.onMetric(msg.Metric)
		a.retryWarming(ctx, false)
	case metricsReceived:
		for _, m := range msg.metrics {
			a.onMetric(m)
		}
		a.retryWarming(ctx, false)
	case messages.PeerRemoved:
		a.onRemoved(msg.Peer)
	case messages.AllocateRequest:
		a.onAllocate(ctx, msg)
	case *messages.AllocateRequest:
		a.onAllocate(ctx, *msg)
	case messages.AllMetricsRequest: // a restarted monitor seeds its table from ours
		ctx.Respond(messages.AllMetricsResponse{Metrics: a.candidates(a.now().UnixNano())})
	case allocateMany:
		a.onAllocateMany(ctx, msg)
	case CandidatesRequest:
		ctx.Respond(CandidatesResponse{Peers: a.candidateIDs()})
	case subscriptionEnded:
		a.log.Warn("allocator: the metrics subscription ended; allocations use the informer's metrics until a restart", "err", msg.err)
	case *actor.Stopped:
	default:
		a.log.Warn("allocator: unknown message", "type", fmt.Sprintf("%T", msg))
	}
}

// metricsReceived is the subscription reader's report: one pubsub message's metrics.
type metricsReceived struct{ metrics []api.Metric }

// subscriptionEnded: the reader stopped on an error other than its cancellation.
type subscriptionEnded struct{ err error }

// onStarted rebuilds the instance's state: the removed peers from the store, metrics from the
// subscription it opens (every peer republishes within a ping interval).
func (a *allocatorActor) onStarted(ctx actor.Context) {
	if a.restarted && a.deps.Warmup > 0 {
		a.warmUntil = a.now().Add(a.deps.Warmup)
		a.warmT = timer.After(ctx, a.deps.Warmup, warmupEnded{})
	}
	if a.deps.Monitor != nil {
		a.seeding = true
		ctx.Request(a.deps.Monitor, messages.AllMetricsRequest{})
		a.seedT = timer.After(ctx, seedTimeout, seedExpired{})
	}
	if a.deps.Removed != nil {
		removed, err := a.deps.Removed.Removed()
		if err != nil {
			a.log.Warn("allocator: reading the removed peers", "err", err)
		}
		for id := range removed {
			a.removed[id] = true
		}
	}
	if a.deps.Metrics == nil {
		return
	}
	sub, err := a.deps.Metrics.Subscribe()
	if err != nil {
		a.log.Warn("allocator: subscribing to the metrics topic", "err", err)
		return
	}
	rctx, cancel := context.WithCancel(context.Background())
	a.sub, a.cancel = sub, cancel
	self, system := ctx.Self(), ctx.ActorSystem()
	go read(rctx, sub, func(msg any) { system.Root.Send(self, msg) })
}

// read is the subscription's I/O worker: it hands each message's metrics to the actor and
// stops at the first error (cancellation included).
func read(ctx context.Context, sub MetricsSubscription, send func(any)) {
	for {
		ms, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				send(subscriptionEnded{err: err})
			}
			return
		}
		if len(ms) > 0 {
			send(metricsReceived{metrics: ms})
		}
	}
}

func (a *allocatorActor) unsubscribe() {
	if a.cancel != nil {
		a.cancel()
		a.sub.Cancel()
		a.cancel, a.sub = nil, nil
	}
}

// onMetric stores m as its peer's latest of that name. Only a change of what ranks (value,
// weight, validity, a new metric) invalidates the ranking; a renewal only extends it.
func (a *allocatorActor) onMetric(m api.Metric) {
	if m.Name == "" || m.Peer == "" || a.removed[m.Peer] {
		return
	}
	m.Valid = m.Expire > a.now().UnixNano()
	byName := a.metrics[m.Peer]
	if byName == nil {
		byName = map[string]api.Metric{}
		a.metrics[m.Peer] = byName
	}
	prev, ok := byName[m.Name]
	if !ok || prev.Valid != m.Valid || prev.Value != m.Value || prev.Weight != m.Weight {
		a.dirty = true
	}
	byName[m.Name] = m
}

func (a *allocatorActor) onRemoved(id peer.ID) {
	a.removed[id] = true
	if _, ok := a.metrics[id]; ok {
		delete(a.metrics, id)
		a.dirty = true
	}
}

// seeded ends the start's wait and answers the allocations that waited for it.
func (a *allocatorActor) seeded(ctx actor.Context) {
	if !a.seeding {
		return
	}
	a.seeding = false
	if a.seedT != nil {
		a.seedT.Stop()
	}
	for _, d := range a.deferred {
		a.answer(ctx, d)
	}
	a.deferred = nil
	for _, d := range a.deferredMany {
		ctx.Send(d.sender, a.allocateMany(d.reqs))
	}
	a.deferredMany = nil
}

func (a *allocatorActor) onAllocate(ctx actor.Context, req messages.AllocateRequest) {
	if a.seeding && ctx.Sender() != nil {
		a.deferred = append(a.deferred, deferredAllocate{sender: ctx.Sender(), req: req})
		return
	}
	if ctx.Sender() == nil {
		return
	}
	a.answer(ctx, deferredAllocate{sender: ctx.Sender(), req: req})
}

// answer sends the allocation of d, or keeps d waiting while a restarted instance warms up and
// holds too few peers for it.
func (a *allocatorActor) answer(ctx actor.Context, d deferredAllocate) {
	resp := a.allocate(d.req)
	if resp.Err != nil && errors.Is(resp.Err, api.ErrUnavailable) && a.now().Before(a.warmUntil) {
		a.warming = append(a.warming, d)
		return
	}
	ctx.Send(d.sender, resp)
}

// retryWarming answers the allocations waiting for metrics that can now be made (all of them
// when the warm-up ended).
func (a *allocatorActor) retryWarming(ctx actor.Context, ended bool) {
	if len(a.warming) == 0 {
		return
	}
	if ended {
		a.warmUntil = time.Time{}
	}
	waiting := a.warming
	a.warming = nil
	for _, d := range waiting {
		a.answer(ctx, d)
	}
}

func (a *allocatorActor) allocate(req messages.AllocateRequest) messages.AllocateResponse {
	r := a.current()
	if req.Candidates != nil {
		r = NewRanking(a.cfg, req.Candidates)
	}
	peers, err := r.Allocate(req.Cid, req.Min, req.Max, req.Current, req.User, req.Local)
	if err != nil {
		a.log.Debug("allocation failed", "cid", cidString(req.Cid), "err", err)
	}
	return messages.AllocateResponse{Peers: peers, Err: err}
}

// current returns the ranking of the live metrics now, rebuilding it when a metric changed or
// expired since it was built.
func (a *allocatorActor) current() *Ranking {
	now := a.now().UnixNano()
	if a.ranking != nil && !a.dirty && now < a.validUntil {
		return a.ranking
	}
	a.ranking, a.validUntil = NewRanking(a.cfg, a.candidates(now)), a.earliestExpiry(now)
	a.dirty = false
	return a.ranking
}

// candidates are the valid metrics of the peers with a valid ping. Expired entries are
// dropped from the table on the way.
func (a *allocatorActor) candidates(now int64) map[peer.ID]map[string]api.Metric {
	out := make(map[peer.ID]map[string]api.Metric, len(a.metrics))
	for id, byName := range a.metrics {
		valid := make(map[string]api.Metric, len(byName))
		for name, m := range byName {
			if m.Expire <= now {
				delete(byName, name)
				continue
			}
			m.Valid = true
			valid[name] = m
		}
		if len(byName) == 0 {
			delete(a.metrics, id)
		}
		if _, live := valid[metricPing]; live {
			out[id] = valid
		}
	}
	return out
}

// earliestExpiry is when the first metric held now expires (the ranking's horizon).
func (a *allocatorActor) earliestExpiry(now int64) int64 {
	first := int64(0)
	for _, byName := range a.metrics {
		for _, m := range byName {
			if m.Expire > now && (first == 0 || m.Expire < first) {
				first = m.Expire
			}
		}
	}
	if first == 0 {
		return now + int64(time.Second) // nothing held: look again soon
	}
	return first
}

func (a *allocatorActor) candidateIDs() []peer.ID {
	r := a.current()
	ids := r.pool.ids()
	slices.Sort(ids)
	return ids
}
