package pinset

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/api"
)

// Waiting for another peer's ops: a peer that ends a batch ingest asks every other peer to
// answer once it holds the batch (AwaitApplied), so that the end of the batch can say where it
// is replicated. The pinset actor answers: it is the one writer, so it knows when a write that
// may have advanced the version vector ends, and it checks then, not on a clock.

// awaitApplied asks for an appliedReply once origin's ops up to seq are stored here, or at
// deadline with what is stored then.
type awaitApplied struct {
	origin   peer.ID
	seq      uint64
	deadline time.Time
}

// appliedReply answers awaitApplied: the version vector entry of the origin when answered.
type appliedReply struct {
	seq uint64
	err error
}

// maxAppliedWaiters bounds the requests held open: past it a request is answered at once with
// what is stored (any member may ask; none may make the actor hold an unbounded list).
const maxAppliedWaiters = 4096

// appliedDeadline fires at a waiter's deadline.
type appliedDeadline struct{}

type appliedWaiter struct {
	sender   *actor.PID
	origin   peer.ID
	seq      uint64
	deadline time.Time
}

func (a *pinsetActor) onAwaitApplied(ctx actor.Context, m *awaitApplied) {
	if ctx.Sender() == nil {
		return
	}
	got, err := a.store.Applied(m.origin)
	if err != nil || got >= m.seq || !time.Now().Before(m.deadline) || len(a.applied) >= maxAppliedWaiters {
		ctx.Respond(&appliedReply{seq: got, err: err})
		return
	}
	a.applied = append(a.applied, appliedWaiter{sender: ctx.Sender(), origin: m.origin, seq: m.seq, deadline: m.deadline})
	timer.After(ctx, time.Until(m.deadline), appliedDeadline{})
}

// checkApplied answers the waiters whose ops are now stored or whose deadline passed; one read
// per origin.
func (a *pinsetActor) checkApplied(ctx actor.Context) {
	if len(a.applied) == 0 {
		return
	}
	now := time.Now()
	seen := map[peer.ID]appliedReply{}
	keep := a.applied[:0]
	for _, w := range a.applied {
		r, ok := seen[w.origin]
		if !ok {
			r.seq, r.err = a.store.Applied(w.origin)
			seen[w.origin] = r
		}
		if r.err == nil && r.seq < w.seq && now.Before(w.deadline) {
			keep = append(keep, w)
			continue
		}
		ctx.Send(w.sender, &appliedReply{seq: r.seq, err: r.err})
	}
	clear(a.applied[len(keep):])
	a.applied = keep
}

// abandonApplied answers every waiter with what is stored now (the actor is restarting).
func (a *pinsetActor) abandonApplied(ctx actor.Context) {
	for _, w := range a.applied {
		got, err := a.store.Applied(w.origin)
		ctx.Send(w.sender, &appliedReply{seq: got, err: err})
	}
	a.applied = nil
}

// AwaitApplied returns origin's version vector entry here once every op of origin up to seq is
// stored, or after wait with the entry then (below seq). An error means the store could not be
// read or the actor is stopped.
func (p *Pinset) AwaitApplied(ctx context.Context, origin peer.ID, seq uint64, wait time.Duration) (uint64, error) {
	res, err := ask.Request(ctx, p.system, p.pid, &awaitApplied{origin: origin, seq: seq, deadline: time.Now().Add(wait)}, wait+5*time.Second)
	switch {
	case errors.Is(err, actor.ErrDeadLetter):
		return 0, ErrStopped
	case errors.Is(err, actor.ErrTimeout):
		return 0, fmt.Errorf("pinset: applied ops of %s: %w", origin, api.ErrTimeout)
	case err != nil:
		return 0, err
	}
	r, ok := res.(*appliedReply)
	if !ok {
		return 0, fmt.Errorf("pinset: unexpected reply %T", res)
	}
	return r.seq, r.err
}
