// Package antientropy holds the anti-entropy scheduler: the actor that decides when and from
// whom this peer pulls missing ops (the syncer does the pull). It pulls every
// rebroadcast_interval from a random connected peer, and soon from peers named by PullFrom (a
// new connection, a gap seen in a gossiped batch).
//
// Decisions:
//   - One pull at a time, in an I/O worker that reports back by message; the peers named while
//     it runs wait in a set (at most maxHints, duplicates merged), and the interval's pull is
//     skipped when one is running.
//   - The interval is a scheduled message (a timer that sends): protoactor's scheduler
//     package races between its cancel func and its timer goroutine.
//   - A restarted instance keeps nothing: hints lost in a crash are covered by the next
//     interval's pull.
package antientropy

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/actors/timer"
)

// ActorName is the scheduler's name under its parent.
const ActorName = "antientropy"

// maxHints bounds the peers waiting for a pull (further hints are dropped: the interval's
// pulls cover them).
const maxHints = 64

// A pull has no overall deadline: each of its steps is bounded on its own (a request to the
// peer by the remote layer's request timeout, a page's write by the pinset's), so a pull ends
// when its peer or the store stops answering, and otherwise lasts as long as the pages keep
// coming. A fixed bound on the whole pull cancelled a fresh peer's catch-up of 10M pins (a
// snapshot of more than 10 minutes on 2 cores) and restarted it from the first page each time.

// Members is the peer's view of who to pull from.
type Members interface {
	// Connected lists the peers connected now (cheap).
	Connected() []peer.ID
	// Allowed reports whether ops may be pulled from id (trusted, not removed).
	Allowed(id peer.ID) bool
	// Answered records that id answered a pull (a member heard from). It may block (a store
	// write); the pull's worker calls it.
	Answered(id peer.ID)
}

// Puller pulls what id has that this peer lacks (the syncer's facade). It blocks.
type Puller interface {
	Pull(ctx context.Context, from peer.ID) (int, error)
}

// Deps configure the scheduler.
type Deps struct {
	Interval time.Duration // rebroadcast_interval
	Members  Members
	Puller   Puller
}

// Messages of the actor.
type (
	// PullFrom asks for a pull from Peer soon. No reply.
	PullFrom struct{ Peer peer.ID }
	// tick is the interval timer.
	tick struct{}
	// pulled is the worker's report.
	pulled struct {
		from peer.ID
		n    int
		err  error
	}
)

// Scheduler is the actor's facade.
type Scheduler struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

// Spawn starts the scheduler under parent.
func Spawn(parent root.Parent, deps Deps, log *slog.Logger) (*Scheduler, error) {
	if deps.Members == nil || deps.Puller == nil {
		return nil, fmt.Errorf("antientropy: Members and Puller are required")
	}
	if deps.Interval <= 0 {
		deps.Interval = time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "antientropy")
	props := actor.PropsFromProducer(func() actor.Actor { return &scheduler{deps: deps, log: log, hints: map[peer.ID]bool{}} })
	pid, err := parent.SpawnNamed(props, ActorName)
	if err != nil {
		return nil, fmt.Errorf("antientropy: spawn: %w", err)
	}
	return &Scheduler{system: parent.ActorSystem(), pid: pid}, nil
}

// PullFrom asks for a pull from id soon. It never blocks.
func (s *Scheduler) PullFrom(id peer.ID) { s.system.Root.Send(s.pid, PullFrom{Peer: id}) }

// PID is the actor's address (tests).
func (s *Scheduler) PID() *actor.PID { return s.pid }

// Stop stops the actor; a pull in progress is cancelled.
func (s *Scheduler) Stop() { _ = s.system.Root.StopFuture(s.pid).Wait() }

type scheduler struct {
	deps  Deps
	log   *slog.Logger
	busy  bool
	hints map[peer.ID]bool
	order []peer.ID // hints in arrival order

	timer  *time.Timer
	ctx    context.Context
	cancel context.CancelFunc
}

func (a *scheduler) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.ctx, a.cancel = context.WithCancel(context.Background())
		a.schedule(ctx)
	case *actor.Stopping, *actor.Restarting:
		if a.timer != nil {
			a.timer.Stop()
		}
		if a.cancel != nil {
			a.cancel()
		}
	case PullFrom:
		a.onHint(ctx, m.Peer)
	case tick:
		a.schedule(ctx)
		a.onTick(ctx)
	case pulled:
		a.onPulled(ctx, m)
	case *actor.Stopped:
	default:
		a.log.Warn("antientropy: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

func (a *scheduler) schedule(ctx actor.Context) {
	a.timer = timer.After(ctx, a.deps.Interval, tick{})
}

func (a *scheduler) onHint(ctx actor.Context, id peer.ID) {
	if !a.hints[id] && len(a.hints) < maxHints {
		a.hints[id] = true
		a.order = append(a.order, id)
	}
	a.next(ctx)
}

func (a *scheduler) onTick(ctx actor.Context) {
	if a.busy {
		return
	}
	peers := a.deps.Members.Connected()
	if len(peers) == 0 {
		return
	}
	a.pull(ctx, peers[rand.IntN(len(peers))])
}

// next starts a pull from the oldest hint, unless one is running.
func (a *scheduler) next(ctx actor.Context) {
	for !a.busy && len(a.order) > 0 {
		id := a.order[0]
		a.order = a.order[1:]
		delete(a.hints, id)
		a.pull(ctx, id)
	}
}

// pull starts a worker pulling from id, if id is allowed.
func (a *scheduler) pull(ctx actor.Context, id peer.ID) {
	if !a.deps.Members.Allowed(id) {
		return
	}
	a.busy = true
	self, system, deps, base := ctx.Self(), ctx.ActorSystem(), a.deps, a.ctx
	go func() {
		pctx, cancel := context.WithCancel(base)
		n, err := deps.Puller.Pull(pctx, id)
		cancel()
		if err == nil {
			deps.Members.Answered(id) // may write the store: here, not in the actor
		}
		system.Root.Send(self, pulled{from: id, n: n, err: err})
	}()
}

func (a *scheduler) onPulled(ctx actor.Context, m pulled) {
	a.busy = false
	switch {
	case m.err != nil && m.n > 0: // a long pull (a snapshot) failing midway is worth seeing
		a.log.Info("anti-entropy: pull stopped midway; the next one goes on", "from", m.from, "applied", m.n, "err", m.err)
	case m.err != nil:
		a.log.Debug("anti-entropy pull", "from", m.from, "err", m.err)
	case m.n > 0:
		a.log.Info("anti-entropy: pulled missing ops", "from", m.from, "ops", m.n)
	}
	a.next(ctx)
}
