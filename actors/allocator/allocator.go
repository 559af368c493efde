package allocator

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"
	"unsafe"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// Request is one allocation request (see Allocate for the meaning of each field). Candidates
// must not be modified once passed: the actor reuses its prepared ranking while requests carry
// the same map (Monitor.LatestAll returns a new map each call), which makes bulk pinning with
// one metrics snapshot cheap.
type Request = messages.AllocateRequest

// ErrStopped is returned by facade calls after Stop.
var ErrStopped = fmt.Errorf("%w: the allocator is stopped", api.ErrUnavailable)

// DefaultRequestTimeout bounds a facade call whose ctx has no deadline.
const DefaultRequestTimeout = 30 * time.Second

// Allocator is the facade of the allocator actor. Its methods are safe for concurrent use.
type Allocator struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

// Spawn validates cfg and starts the allocator actor under the name "allocator". An empty
// AllocateBy takes the default.
func Spawn(system *actor.ActorSystem, cfg Config, log *slog.Logger) (*Allocator, error) {
	if len(cfg.AllocateBy) == 0 {
		cfg.AllocateBy = Default().AllocateBy
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	a := &allocatorActor{cfg: cfg, log: log.With("component", "allocator")}
	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return a }), "allocator")
	if err != nil {
		return nil, fmt.Errorf("allocator: spawn: %w", err)
	}
	return &Allocator{system: system, pid: pid}, nil
}

// Allocate returns the allocations for req (see the package function Allocate).
func (a *Allocator) Allocate(ctx context.Context, req Request) ([]peer.ID, error) {
	r, err := ask.Call[messages.AllocateResponse](ctx, a.system, a.pid, req, DefaultRequestTimeout, "the allocator", ErrStopped)
	if err != nil {
		return nil, err
	}
	return r.Peers, r.Err
}

// Stop stops the actor; later calls return ErrStopped.
func (a *Allocator) Stop() {
	_ = a.system.Root.StopFuture(a.pid).Wait()
}

// allocatorActor runs the pure Allocate function; it is CPU-only, so it runs inside Receive.
// It reuses the Ranking of the last Candidates map while requests pass the same map.
type allocatorActor struct {
	cfg Config
	log *slog.Logger

	lastMap     unsafe.Pointer
	lastRanking *Ranking
}

func (a *allocatorActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case messages.AllocateRequest:
		a.onAllocate(ctx, msg)
	case *messages.AllocateRequest:
		a.onAllocate(ctx, *msg)
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		a.log.Warn("allocator: unknown message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *allocatorActor) onAllocate(ctx actor.Context, req messages.AllocateRequest) {
	key := reflect.ValueOf(req.Candidates).UnsafePointer()
	if a.lastRanking == nil || key != a.lastMap || key == nil {
		a.lastMap, a.lastRanking = key, NewRanking(a.cfg, req.Candidates)
	}
	peers, err := a.lastRanking.Allocate(req.Cid, req.Min, req.Max, req.Current, req.User, req.Local)
	if err != nil {
		a.log.Debug("allocation failed", "cid", cidString(req.Cid), "err", err)
	}
	ctx.Respond(messages.AllocateResponse{Peers: peers, Err: err})
}
