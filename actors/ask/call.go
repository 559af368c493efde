package ask

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/api"
)

// Call is what every actor facade does to ask its actor: Request bounded by ctx's deadline (else
// limit), with errors mapped for callers: ctx's own error when ctx ended; stopped (the facade's
// sentinel) when the actor is gone; an api.ErrTimeout naming who when it did not answer; and a
// reply of another type than R as an error too.
func Call[R any](ctx context.Context, system *actor.ActorSystem, pid *actor.PID, msg any, limit time.Duration, who string, stopped error) (R, error) {
	var zero R
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	timeout := limit
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return zero, context.DeadlineExceeded
		}
	}
	res, err := Request(ctx, system, pid, msg, timeout)
	if cerr := ctx.Err(); cerr != nil {
		return zero, cerr
	}
	switch {
	case errors.Is(err, actor.ErrDeadLetter):
		return zero, stopped
	case errors.Is(err, actor.ErrTimeout):
		return zero, fmt.Errorf("%w: %s did not answer %T within %s", api.ErrTimeout, who, msg, timeout)
	case err != nil:
		return zero, err
	}
	r, ok := res.(R)
	if !ok {
		return zero, fmt.Errorf("%s: unexpected reply %T to %T", who, res, msg)
	}
	return r, nil
}
