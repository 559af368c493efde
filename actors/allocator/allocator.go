package allocator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// Request is one allocation request (see Allocate for the meaning of each field). With
// Candidates nil the actor allocates from the metrics it holds (the usual case); with
// Candidates set it ranks those instead (tests, tools).
type Request = messages.AllocateRequest

// ErrStopped is returned by facade calls after Stop.
var ErrStopped = fmt.Errorf("%w: the allocator is stopped", api.ErrUnavailable)

// DefaultRequestTimeout bounds a facade call whose ctx has no deadline.
const DefaultRequestTimeout = 30 * time.Second

// ActorName is the allocator's name under its parent.
const ActorName = "allocator"

// Allocator is the facade of the allocator actor. Its methods are safe for concurrent use.
type Allocator struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

// Spawn validates cfg and starts the allocator actor under parent. An empty AllocateBy takes
// the default. Each actor instance subscribes to deps.Metrics itself.
func Spawn(parent root.Parent, cfg Config, deps Deps, log *slog.Logger) (*Allocator, error) {
	if len(cfg.AllocateBy) == 0 {
		cfg.AllocateBy = Default().AllocateBy
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "allocator")
	first := true
	props := actor.PropsFromProducer(func() actor.Actor {
		a := newAllocatorActor(cfg, deps, log)
		a.restarted = !first // only a restarted instance warms up (Deps.Warmup)
		first = false
		return a
	})
	pid, err := parent.SpawnNamed(props, ActorName)
	if err != nil {
		return nil, fmt.Errorf("allocator: spawn: %w", err)
	}
	return &Allocator{system: parent.ActorSystem(), pid: pid}, nil
}

// PID is the actor's address: the informer sends it this peer's metrics, the peer sends it
// messages.PeerRemoved.
func (a *Allocator) PID() *actor.PID { return a.pid }

// Allocate returns the allocations of a pin of c with opts (replication factors and user
// allocations; -1 means every peer: no allocations) whose allocations are current (nil for a
// new pin), from the live, non-removed peers' metrics the allocator holds.
func (a *Allocator) Allocate(ctx context.Context, c api.Cid, opts api.PinOptions, current []peer.ID) ([]peer.ID, error) {
	if opts.ReplicationFactorMin == -1 {
		return []peer.ID{}, nil
	}
	return a.AllocateWith(ctx, Request{Cid: c, Min: opts.ReplicationFactorMin, Max: opts.ReplicationFactorMax,
		Current: current, User: opts.UserAllocations})
}

// AllocateWith answers one Request (see Request for Candidates).
func (a *Allocator) AllocateWith(ctx context.Context, req Request) ([]peer.ID, error) {
	r, err := ask.Call[messages.AllocateResponse](ctx, a.system, a.pid, req, DefaultRequestTimeout, "the allocator", ErrStopped)
	if err != nil {
		return nil, err
	}
	return r.Peers, r.Err
}

// Candidates lists the peers the allocator would allocate to now, sorted.
func (a *Allocator) Candidates(ctx context.Context) ([]peer.ID, error) {
	r, err := ask.Call[CandidatesResponse](ctx, a.system, a.pid, CandidatesRequest{}, DefaultRequestTimeout, "the allocator", ErrStopped)
	return r.Peers, err
}

// CandidatesRequest asks for the current candidates. Reply: CandidatesResponse.
type CandidatesRequest struct{}

// CandidatesResponse lists candidate peers sorted by ID.
type CandidatesResponse struct{ Peers []peer.ID }

// Stop stops the actor; later calls return ErrStopped.
func (a *Allocator) Stop() {
	_ = a.system.Root.StopFuture(a.pid).Wait()
}
