package root

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/telemetry"
)

// rootActor spawns the children and is their supervision strategy (OneForOne with backoff).
type rootActor struct {
	cfg        Config
	log        *slog.Logger
	dispatcher *workerDispatcher // the children's (dispatcher.go); shared by restarted instances
	children   []*child
}

type child struct {
	name     string
	alias    *actor.PID // registered alias, or nil
	pid      *actor.PID
	restarts int
}

var _ actor.SupervisorStrategy = (*rootActor)(nil)

func newRootActor(cfg Config, log *slog.Logger, d *workerDispatcher) *rootActor {
	return &rootActor{cfg: cfg, log: log, dispatcher: d}
}

func (a *rootActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case SpawnChild:
		a.onSpawn(ctx, m)
	case ChildrenRequest:
		a.onChildren(ctx)
	case *actor.Terminated:
		a.onTerminated(ctx, m.Who)
	case *actor.Stopped:
		// The tree's end (a restart gets Restarting, not Stopped): the children have stopped,
		// so their mailboxes' idle workers need not wait out workerIdle.
		a.dispatcher.stop()
	case *actor.Started, *actor.Stopping, *actor.Restarting:
	default:
		a.log.Warn("root: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

func (a *rootActor) onSpawn(ctx actor.Context, m SpawnChild) {
	// Configure edits the Props it is called on: work on a clone (its option slices copied), so
	// the caller's Props (spawned again after a stop, or by a test) never gain a second
	// dispatcher option or crash hook.
	props := m.Props.Clone(actor.WithDispatcher(a.dispatcher))
	if a.cfg.FaultHooks {
		props = props.Configure(actor.WithReceiverMiddleware(crashHook))
	}
	pid, err := ctx.SpawnNamed(props, m.Name)
	if err != nil {
		ctx.Respond(ChildSpawned{Err: fmt.Errorf("root: spawn %s: %w", m.Name, err)})
		return
	}
	c := &child{name: m.Name, pid: pid}
	if m.Alias == "" {
		m.Alias = m.Name // the bare name other peers (and older versions) address
	}
	{
		reg := ctx.ActorSystem().ProcessRegistry
		proc, _ := reg.GetLocal(pid.Id)
		alias, ok := reg.Add(proc, m.Alias)
		if !ok {
			ctx.Stop(pid)
			ctx.Respond(ChildSpawned{Err: fmt.Errorf("root: spawn %s: the name %q is taken", m.Name, m.Alias)})
			return
		}
		c.alias = alias
	}
	a.children = append(a.children, c)
	ctx.Respond(ChildSpawned{PID: pid})
}

func (a *rootActor) onChildren(ctx actor.Context) {
	out := make([]Child, len(a.children))
	for i, c := range a.children {
		out[i] = Child{Name: c.name, PID: c.pid, Restarts: c.restarts}
	}
	ctx.Respond(ChildrenResponse{Children: out})
}

// onTerminated forgets a stopped child and frees its alias. (Registry.Remove marks the
// process it pops dead: harmless here, the child is stopped already.)
func (a *rootActor) onTerminated(ctx actor.Context, who *actor.PID) {
	for i, c := range a.children {
		if c.pid.Id != who.Id {
			continue
		}
		if c.alias != nil {
			ctx.ActorSystem().ProcessRegistry.Remove(c.alias)
		}
		a.children = append(a.children[:i], a.children[i+1:]...)
		return
	}
}

// HandleFailure is the strategy: restart the failed child alone, after a delay that doubles
// with each failure inside the window. It runs in the root's mailbox, so it may touch the table.
func (a *rootActor) HandleFailure(system *actor.ActorSystem, supervisor actor.Supervisor, who *actor.PID, rs *actor.RestartStatistics, reason any, message any) {
	if rs.NumberOfFailures(a.cfg.Window) == 0 {
		rs.Reset()
	}
	rs.Fail()
	delay := a.delay(rs.FailureCount())
	name := who.Id
	for _, c := range a.children {
		if c.pid.Id == who.Id {
			c.restarts++
			name = c.name
			telemetry.ActorRestarts.WithLabelValues(name).Inc()
		}
	}
	a.log.Error("actor failed; restarting a fresh instance", "actor", name, "failures", rs.FailureCount(), "after", delay,
		"reason", reason, "message", fmt.Sprintf("%T", message))
	time.AfterFunc(delay, func() { supervisor.RestartChildren(who) })
}

// delay is the wait before restarting a child at its nth failure inside the window.
func (a *rootActor) delay(n int) time.Duration {
	d := a.cfg.MinBackoff
	for i := 1; i < n && d < a.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, a.cfg.MaxBackoff)
}

// crashHook panics on Crash before the child sees it (Config.FaultHooks).
func crashHook(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		if f, ok := env.Message.(Crash); ok {
			panic("fault injection: " + f.Reason)
		}
		next(c, env)
	}
}
