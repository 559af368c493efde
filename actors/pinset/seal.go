package pinset

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// Sealing: a peer leaving the cluster (leave_on_shutdown, peers rm) makes no op after the
// cutoff its removal announces. The others refuse its ops above that cutoff, so a pin it
// acknowledged after it would be lost: measured before sealing, a batch ingest running while
// the peer left lost acknowledged pins, because the cutoff was read while group commits were
// still coming in. Seal refuses every local commit from then on (api.ErrUnavailable: the
// client sends it elsewhere) and answers once the commits taken before it are written, with
// the last own seq: nothing this peer acknowledged is above it. Remote ops still apply.
//
// The seal outlives a restart of the actor (the flag is the facade's): a fresh instance
// must not take writes the crashed one refused.

// sealWrites asks the actor to refuse local commits and to answer once none is in flight.
type sealWrites struct{ reason error }

// sealed answers sealWrites: the last own seq once every earlier local commit ended, or
// errRestarted (ask again).
type sealed struct {
	lastSeq uint64
	err     error
}

// StopWrites refuses every local commit from now on with reason (wrapping api.ErrUnavailable)
// and returns at once; Seal also waits for the commits already taken.
func (p *Pinset) StopWrites(reason string) {
	refusal := fmt.Errorf("%w: %s", api.ErrUnavailable, reason) // its own variable: the flag points at it
	p.seal.CompareAndSwap(nil, &refusal)
}

// Seal refuses every local commit from now on with reason (wrapping api.ErrUnavailable) and
// returns, once the commits taken before it have ended, the highest own seq numbered.
func (p *Pinset) Seal(ctx context.Context, reason string) (uint64, error) {
	p.StopWrites(reason)
	timeout := defaultCommitTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	deadline := time.Now().Add(timeout)
	for {
		res, err := ask.Request(ctx, p.system, p.pid, &sealWrites{reason: *p.seal.Load()}, time.Until(deadline))
		if errors.Is(err, actor.ErrDeadLetter) {
			return 0, ErrStopped
		}
		if err != nil {
			return 0, fmt.Errorf("pinset: sealing: %w", err)
		}
		s, ok := res.(*sealed)
		if !ok {
			return 0, fmt.Errorf("pinset: sealing: unexpected reply %T", res)
		}
		// The actor restarted before answering: the fresh instance is sealed too (the flag
		// is the facade's), and answers at once.
		if errors.Is(s.err, errRestarted) && time.Until(deadline) > 0 && ctx.Err() == nil {
			continue
		}
		return s.lastSeq, s.err
	}
}

// sealState is what the actor keeps of a seal: the shared flag, and the requesters to answer
// once no local commit is in flight.
type sealState struct {
	flag    *atomic.Pointer[error]
	waiters []*actor.PID
}

// refused is the error a local commit gets once the pinset is sealed (nil: not sealed).
func (a *pinsetActor) refused() error {
	if a.seal.flag == nil {
		return nil
	}
	if e := a.seal.flag.Load(); e != nil {
		return *e
	}
	return nil
}

// onSeal refuses at once the local requests not yet numbered (they would be numbered after the
// seal, above the cutoff of a removal read from its answer; their requesters were not
// answered, so nothing is lost) and answers once the group commit being written, whose ops
// are numbered already, is written.
func (a *pinsetActor) onSeal(ctx actor.Context, m *sealWrites) {
	if a.seal.flag != nil {
		a.seal.flag.CompareAndSwap(nil, &m.reason)
	}
	for _, w := range a.waiting {
		if w.sender != nil {
			ctx.Send(w.sender, sealedReply(m.reason))
		}
	}
	a.waiting = nil
	if ctx.Sender() != nil {
		a.seal.waiters = append(a.seal.waiters, ctx.Sender())
	}
	a.answerSeal(ctx)
}

// answerSeal answers the seal's requesters once no local commit waits or is being written.
func (a *pinsetActor) answerSeal(ctx actor.Context) {
	if len(a.seal.waiters) == 0 || len(a.inflight.waiters) > 0 {
		return
	}
	for _, w := range a.seal.waiters {
		ctx.Send(w, &sealed{lastSeq: a.nextSeq - 1})
	}
	a.seal.waiters = nil
}

// abandonSeal tells the seal's requesters to ask again (the actor restarts).
func (a *pinsetActor) abandonSeal(ctx actor.Context) {
	for _, w := range a.seal.waiters {
		ctx.Send(w, &sealed{err: errRestarted})
	}
	a.seal.waiters = nil
}

// sealedReply is the answer to a local commit refused by the seal.
func sealedReply(err error) *messages.ChangesCommitted { return &messages.ChangesCommitted{Err: err} }
