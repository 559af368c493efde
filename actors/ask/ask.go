// Package ask is the request/reply helper of the actor facades. It replaces
// RootContext.RequestFuture, whose futures race with late replies: protoactor's futureProcess
// writes the reply into the future without its lock, so a reply arriving after the future was
// stopped (context cancelled) or timed out is a data race with Future.Result's read. Here the
// reply goes to a one-shot process that hands it over on a channel, and a late reply is
// simply dropped.
package ask

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Request sends msg to pid with a one-shot reply address as sender and waits for the reply,
// ctx's end or timeout, whichever comes first. Errors: ctx.Err() when ctx ends,
// actor.ErrTimeout after timeout, actor.ErrDeadLetter when pid does not exist (or stopped
// before answering). Safe for concurrent use.
func Request(ctx context.Context, system *actor.ActorSystem, pid *actor.PID, msg any, timeout time.Duration) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rp := &replyProcess{ch: make(chan any, 1)}
	sender, ok := system.ProcessRegistry.Add(rp, "ask"+system.ProcessRegistry.NextId())
	if !ok {
		return nil, actor.ErrDeadLetter
	}
	defer system.ProcessRegistry.Remove(sender)
	system.Root.RequestWithCustomSender(pid, msg, sender)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case res := <-rp.ch:
		if _, dead := res.(*actor.DeadLetterResponse); dead {
			return nil, actor.ErrDeadLetter
		}
		return res, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, actor.ErrTimeout
	}
}

// replyProcess keeps the first reply; later ones are dropped.
type replyProcess struct{ ch chan any }

func (r *replyProcess) SendUserMessage(_ *actor.PID, message any) {
	_, m, _ := actor.UnwrapEnvelope(message)
	select {
	case r.ch <- m:
	default:
	}
}

func (r *replyProcess) SendSystemMessage(*actor.PID, any) {}

func (r *replyProcess) Stop(*actor.PID) {}
