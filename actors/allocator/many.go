package allocator

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/messages"
)

// allocateMany asks for the allocations of many pins from one ranking (batch ingest: one
// round trip per chunk of thousands of pins, not one per pin). Reply: allocateManyResponse.
type allocateMany struct{ reqs []Request }

// allocateManyResponse answers allocateMany, one response per request, in order.
type allocateManyResponse struct{ resps []messages.AllocateResponse }

// AllocateMany answers every request from the same ranking of the metrics the allocator holds
// now (Candidates of the requests are ignored). allocs[i] and errs[i] are request i's answer;
// err is a failure of the call itself (stopped, timeout).
func (a *Allocator) AllocateMany(ctx context.Context, reqs []Request) (allocs [][]peer.ID, errs []error, err error) {
	r, err := ask.Call[allocateManyResponse](ctx, a.system, a.pid, allocateMany{reqs: reqs}, DefaultRequestTimeout, "the allocator", ErrStopped)
	if err != nil {
		return nil, nil, err
	}
	allocs, errs = make([][]peer.ID, len(reqs)), make([]error, len(reqs))
	for i, resp := range r.resps {
		allocs[i], errs[i] = resp.Peers, resp.Err
	}
	return allocs, errs, nil
}

// deferredMany is an allocateMany received while the instance seeds its metrics.
type deferredMany struct {
	sender *actor.PID
	reqs   []Request
}

func (a *allocatorActor) onAllocateMany(ctx actor.Context, m allocateMany) {
	if a.seeding && ctx.Sender() != nil {
		a.deferredMany = append(a.deferredMany, deferredMany{sender: ctx.Sender(), reqs: m.reqs})
		return
	}
	ctx.Respond(a.allocateMany(m.reqs))
}

func (a *allocatorActor) allocateMany(reqs []Request) allocateManyResponse {
	r := a.current()
	out := allocateManyResponse{resps: make([]messages.AllocateResponse, len(reqs))}
	for i, req := range reqs {
		peers, err := r.Allocate(req.Cid, req.Min, req.Max, req.Current, req.User, req.Local)
		out.resps[i] = messages.AllocateResponse{Peers: peers, Err: err}
	}
	return out
}
