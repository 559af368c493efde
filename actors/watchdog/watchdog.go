// Package watchdog feeds systemd's watchdog only while the actor tree answers.
//
// Every tick the actor asks the root actor for its children; the WATCHDOG=1 ping is sent when
// the answer arrives, not when the tick fires. A peer whose root mailbox is wedged (a deadlock,
// a Receive stuck on I/O) therefore stops pinging, and systemd restarts it after WatchdogSec.
// Ticks are scheduled messages (actors/timer), the house rule for waiting on time.
package watchdog

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/actors/timer"
)

// Deps are what the watchdog needs.
type Deps struct {
	Every time.Duration // time between probes (half of WATCHDOG_USEC)
	Probe *actor.PID    // the actor whose answer proves the peer is alive: the root
	Ping  func() error  // sends WATCHDOG=1 (sdnotify.Watchdog); must not block
}

// tick is the scheduled message that starts one probe.
type tick struct{}

type watchdogActor struct {
	deps  Deps
	log   *slog.Logger
	timer *time.Timer
}

// Spawn starts the watchdog as a child of parent.
func Spawn(parent root.Parent, deps Deps, log *slog.Logger) (*actor.PID, error) {
	log = log.With("actor", "watchdog")
	props := actor.PropsFromProducer(func() actor.Actor { return &watchdogActor{deps: deps, log: log} })
	return parent.SpawnNamed(props, "watchdog")
}

func (a *watchdogActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.onTick(ctx) // the first ping goes out at once: READY=1 came just before
	case tick:
		a.onTick(ctx)
	case root.ChildrenResponse:
		a.onAlive()
	case *actor.Stopping:
		a.onStopping()
	case *actor.Stopped, *actor.Restarting:
	default:
		a.log.Warn("unexpected message", "type", m)
	}
}

// onTick probes the root and re-arms. The probe is a plain Request, not a future: the actor
// never waits, and an unanswered probe simply means no ping this round.
func (a *watchdogActor) onTick(ctx actor.Context) {
	ctx.Request(a.deps.Probe, root.ChildrenRequest{})
	a.timer = timer.After(ctx, a.deps.Every, tick{})
}

func (a *watchdogActor) onAlive() {
	if err := a.deps.Ping(); err != nil {
		a.log.Warn("cannot ping the systemd watchdog", "err", err)
	}
}

func (a *watchdogActor) onStopping() {
	if a.timer != nil {
		a.timer.Stop()
	}
}
