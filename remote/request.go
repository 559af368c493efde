package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/api"
)

// Request sends msg to the actor at to (on any peer) and waits for its reply, for callers that
// are not actors (facades, the REST API, tests). It waits until ctx's deadline, at most twice
// Config.RequestTimeout, or RequestTimeout when ctx has none; a peer that stops answering is
// given up on sooner (probe.go). Errors: a *RemoteError when the message was not delivered (no such actor:
// api.ErrNotFound; unknown type: api.ErrInvalid; peer unreachable: api.ErrUnavailable), an
// error wrapping api.ErrTimeout when the peer did not answer in time. A reply that is itself
// a *RemoteError is returned as the error.
func (r *Remote) Request(ctx context.Context, to *actor.PID, msg any) (any, error) {
	if to == nil {
		return nil, fmt.Errorf("%w: remote request with no target", api.ErrInvalid)
	}
	timeout := r.cfg.RequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		// The caller's deadline, up to twice RequestTimeout: as long as the pending table
		// remembers a request (sweep), so its reply still counts as one.
		timeout = min(time.Until(dl), 2*r.cfg.RequestTimeout)
	}
	peerName := r.peerName(to.Address)
	if timeout <= 0 || ctx.Err() != nil {
		return nil, r.ctxErr(ctx, to, peerName, timeout)
	}
	// A request to another peer is watched by liveness probes (probe.go) when it may wait
	// longer than a probe round takes.
	parent := ctx
	if !r.isLocal(to.Address) && timeout > r.cfg.ProbeAfter+r.cfg.ProbeTimeout {
		if id, err := peer.Decode(to.Address); err == nil {
			var cancel context.CancelCauseFunc
			ctx, cancel = context.WithCancelCause(ctx)
			defer cancel(nil)
			defer r.probe(id, peerName, cancel)()
		}
	}
	// ask.Request, like every facade: a reply that arrives after the wait ended is dropped
	// instead of racing with it (protoactor's futures write late replies without a lock).
	v, err := ask.Request(ctx, r.system, to, msg, timeout)
	var lost probeLost
	switch {
	case err != nil && errors.As(context.Cause(ctx), &lost) && parent.Err() == nil:
		return nil, lost.err
	case err == nil:
	case errors.Is(err, actor.ErrTimeout):
		return nil, fmt.Errorf("peer %s did not answer within %s (actor %q, %T): %w", peerName, timeout, to.Id, msg, api.ErrTimeout)
	case errors.Is(err, actor.ErrDeadLetter):
		return nil, remoteErr(CodeNotFound, "no actor named %q on peer %s", to.Id, peerName)
	case parent.Err() != nil:
		return nil, r.ctxErr(parent, to, peerName, timeout)
	default:
		return nil, fmt.Errorf("request to actor %q on peer %s: %w", to.Id, peerName, err)
	}
	if re, ok := v.(*RemoteError); ok {
		return nil, re
	}
	return v, nil
}

func (r *Remote) ctxErr(ctx context.Context, to *actor.PID, peerName string, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("request to actor %q on peer %s: %w", to.Id, peerName, ctx.Err())
	}
	return fmt.Errorf("peer %s did not answer within %s (actor %q): %w", peerName, timeout, to.Id, api.ErrTimeout)
}
