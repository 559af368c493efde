package informer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// ActorName is the informer's name under its parent.
const ActorName = "informer"

// ErrStopped is returned by facade calls after Stop.
var ErrStopped = fmt.Errorf("%w: the informer is stopped", api.ErrUnavailable)

// warmup are the delays of the publishes after a start (see the package doc).
var warmup = []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second}

// soonDelay lets gossipsub graft a new peer before PublishSoon's publish.
const soonDelay = time.Second

// Messages of the informer actor.
type (
	// tick: collect and publish now (timers and PublishSoon's delay send it).
	tick struct{}
	// periodic: the interval timer; it schedules the next one.
	periodic struct{}
	// soon: PublishSoon.
	soon struct{}
	// PublishRequest asks for a publish and a reply once it is done. Reply: Published.
	PublishRequest struct{}
	// Published answers PublishRequest: this peer's metrics were sent to the subscribers
	// (and, unless Err, on the topic).
	Published struct{ Err error }
	// collected is the worker's report.
	collected struct {
		metrics []api.Metric
		err     error // publishing on the topic
	}
)

// Informer is the facade of the informer actor. Its methods are safe for concurrent use.
type Informer struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

// Spawn starts the informer under parent; it publishes at once.
func Spawn(parent root.Parent, deps Deps, log *slog.Logger) (*Informer, error) {
	if deps.Source == nil || deps.Topic == nil {
		return nil, fmt.Errorf("informer: Source and Topic are required")
	}
	if deps.Interval <= 0 {
		deps.Interval = 15 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "informer")
	props := actor.PropsFromProducer(func() actor.Actor { return &informerActor{deps: deps, log: log} })
	pid, err := parent.SpawnNamed(props, ActorName)
	if err != nil {
		return nil, fmt.Errorf("informer: spawn: %w", err)
	}
	return &Informer{system: parent.ActorSystem(), pid: pid}, nil
}

// PublishNow collects and publishes, and returns once this peer's metrics reached its
// subscribers (an error only when publishing on the topic failed, or ctx ended).
func (i *Informer) PublishNow(ctx context.Context) error {
	r, err := ask.Call[Published](ctx, i.system, i.pid, PublishRequest{}, 30*time.Second, "the informer", ErrStopped)
	if err != nil {
		return err
	}
	return r.Err
}

// PublishSoon publishes about a second from now (a new connection: the newcomer learns about
// this peer). It never blocks.
func (i *Informer) PublishSoon() { i.system.Root.Send(i.pid, soon{}) }

// PID is the actor's address (tests).
func (i *Informer) PID() *actor.PID { return i.pid }

// Stop stops the actor and its timers.
func (i *Informer) Stop() { _ = i.system.Root.StopFuture(i.pid).Wait() }

type informerActor struct {
	deps Deps
	log  *slog.Logger

	busy    bool         // a worker is collecting
	again   bool         // a tick arrived while busy
	waiters []*actor.PID // PublishRequest senders waiting for the next report
	// Pending timers, stopped with the instance: the warmup publishes, the interval, the
	// PublishSoon delay (nil when none is pending).
	warm   []*time.Timer
	period *time.Timer
	soon   *time.Timer
	// ctx bounds this instance's workers; cancelled when it stops.
	ctx    context.Context
	cancel context.CancelFunc
}

func (a *informerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.onStopping()
	case tick:
		a.onTick(ctx)
	case periodic:
		a.period = timer.After(ctx, a.deps.Interval, periodic{})
		a.onTick(ctx)
	case soon:
		if a.soon == nil {
			a.soon = timer.After(ctx, soonDelay, tick{})
		}
	case PublishRequest:
		if s := ctx.Sender(); s != nil {
			a.waiters = append(a.waiters, s)
		}
		a.onTick(ctx)
	case collected:
		a.onCollected(ctx, m)
	case *actor.Stopped:
	default:
		a.log.Warn("informer: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

func (a *informerActor) onStarted(ctx actor.Context) {
	a.ctx, a.cancel = context.WithCancel(context.Background())
	for _, d := range warmup {
		a.warm = append(a.warm, timer.After(ctx, min(d, a.deps.Interval), tick{}))
	}
	a.period = timer.After(ctx, a.deps.Interval, periodic{})
}

func (a *informerActor) onStopping() {
	for _, t := range append(a.warm, a.period, a.soon) {
		if t != nil {
			t.Stop()
		}
	}
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *informerActor) onTick(ctx actor.Context) {
	if a.busy {
		a.again = true
		return
	}
	a.busy, a.soon = true, nil
	self, system, deps, base := ctx.Self(), ctx.ActorSystem(), a.deps, a.ctx
	go func() {
		wctx, cancel := context.WithTimeout(base, deps.Interval)
		defer cancel()
		ms := collect(wctx, deps)
		system.Root.Send(self, collected{metrics: ms, err: deps.Topic.PublishMetrics(wctx, ms)})
	}()
}

// collect builds this peer's metrics now (monitor.Collect); a repo that cannot be read
// publishes 0 free bytes, as before.
func collect(ctx context.Context, d Deps) []api.Metric {
	free, _ := d.Source.FreeSpace(ctx)
	n, ok := d.Source.NodePins()
	if !ok {
		n = -1
	}
	ms := monitor.Collect(time.Now(), d.Self, d.Config, free, d.Source.QueueLen(), n, 2*d.Interval)
	for i := range ms {
		if ms[i].Name == monitor.MetricPing {
			ms[i].Value = strings.Join(d.Source.Addrs(), ",")
			if d.Follower {
				f := ms[i]
				f.Name, f.Value = monitor.MetricFollower, "true"
				ms = append(ms, f)
			}
		}
	}
	return ms
}

func (a *informerActor) onCollected(ctx actor.Context, m collected) {
	a.busy = false
	now := time.Now().UnixNano()
	for _, pid := range a.deps.Subscribers {
		for _, metric := range m.metrics {
			metric.ReceivedAt = now
			ctx.Send(pid, messages.MetricReceived{Metric: metric})
		}
	}
	if m.err != nil {
		a.log.Debug("informer: publishing metrics", "err", m.err)
	}
	for _, w := range a.waiters {
		ctx.Send(w, Published{Err: m.err})
	}
	a.waiters = nil
	if a.again {
		a.again = false
		a.onTick(ctx)
	}
}
