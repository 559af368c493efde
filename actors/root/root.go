package root

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/api"
)

// Name is the root actor's name; its children's IDs are Name + "/" + child name.
const Name = "pincluster"

// Parent is where an actor facade spawns its actor: a *Root (a supervised child of the peer's
// tree) or, in tests of one actor, system.Root (*actor.RootContext satisfies it).
type Parent interface {
	ActorSystem() *actor.ActorSystem
	SpawnNamed(props *actor.Props, name string) (*actor.PID, error)
}

var (
	_ Parent = (*Root)(nil)
	_ Parent = (*actor.RootContext)(nil)
)

// ErrStopped is returned by facade calls after Stop.
var ErrStopped = fmt.Errorf("%w: the root actor is stopped", api.ErrUnavailable)

// Config tunes the supervision strategy; zero fields take the defaults.
type Config struct {
	MinBackoff time.Duration // delay before the first restart (default 10ms)
	MaxBackoff time.Duration // delay cap (default 5s)
	Window     time.Duration // failures older than this are forgotten (default 1m)
	// FaultHooks makes every child panic on a Crash message (supervision tests).
	FaultHooks bool
}

func (c Config) withDefaults() Config {
	if c.MinBackoff <= 0 {
		c.MinBackoff = 10 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	return c
}

// Root is the facade of the root actor. Its methods are safe for concurrent use.
type Root struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

// Spawn starts the root actor (named Name) at the top of system.
func Spawn(system *actor.ActorSystem, cfg Config, log *slog.Logger) (*Root, error) {
	if log == nil {
		log = slog.Default()
	}
	r, _, err := spawn(system, cfg.withDefaults(), log.With("component", "root"))
	return r, err
}

// spawn starts the root actor and returns it with its children's dispatcher (for tests).
func spawn(system *actor.ActorSystem, cfg Config, log *slog.Logger) (*Root, *workerDispatcher, error) {
	d := newWorkerDispatcher()
	props := actor.PropsFromProducer(func() actor.Actor { return newRootActor(cfg, log, d) })
	pid, err := system.Root.SpawnNamed(props, Name)
	if err != nil {
		return nil, nil, fmt.Errorf("root: spawn: %w", err)
	}
	return &Root{system: system, pid: pid}, d, nil
}

// ActorSystem is the system the tree runs in.
func (r *Root) ActorSystem() *actor.ActorSystem { return r.system }

// PID is the root actor's address (tests send it messages directly).
func (r *Root) PID() *actor.PID { return r.pid }

// SpawnNamed spawns props as a supervised child named name, also addressable by the bare name
// (see the package doc). It blocks until the child exists.
func (r *Root) SpawnNamed(props *actor.Props, name string) (*actor.PID, error) {
	return r.spawn(SpawnChild{Props: props, Name: name})
}

// SpawnAliased spawns a child that other peers address by alias instead of its name.
func (r *Root) SpawnAliased(props *actor.Props, name, alias string) (*actor.PID, error) {
	return r.spawn(SpawnChild{Props: props, Name: name, Alias: alias})
}

func (r *Root) spawn(m SpawnChild) (*actor.PID, error) {
	res, err := ask.Call[ChildSpawned](context.Background(), r.system, r.pid, m, 10*time.Second, "the root actor", ErrStopped)
	if err != nil {
		return nil, err
	}
	return res.PID, res.Err
}

// Children lists the children with their restart counts, in order of spawn.
func (r *Root) Children(ctx context.Context) ([]Child, error) {
	res, err := ask.Call[ChildrenResponse](ctx, r.system, r.pid, ChildrenRequest{}, 10*time.Second, "the root actor", ErrStopped)
	return res.Children, err
}

// Crash sends a Crash to the child named name (see Crash; needs Config.FaultHooks).
func (r *Root) Crash(ctx context.Context, name string) error {
	cs, err := r.Children(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Name == name {
			r.system.Root.Send(c.PID, Crash{Reason: "test fault in " + name})
			return nil
		}
	}
	return fmt.Errorf("%w: no child named %q", api.ErrNotFound, name)
}

// Stop stops the root and with it every child still running (newest first). Idempotent.
func (r *Root) Stop() {
	_ = r.system.Root.StopFuture(r.pid).Wait()
}
