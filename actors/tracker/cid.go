package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/telemetry"
)

// operationDone is what the IPFS goroutine of a cid actor sends back to it.
type operationDone struct {
	from *cidActor // the incarnation that started the call
	err  error
}

// deadlineDue is the scheduled message on which a cid actor checks its attempt's deadline.
type deadlineDue struct{ from *cidActor }

// cidActor runs one pin or unpin of one CID. It lives only while its CID is in flight: it
// starts the IPFS call in a goroutine on Started and reports success to its parent (the queue
// actor that started it), which stops it; on failure it panics with
// messages.PinFailed/UnpinFailed so that the queue actor's supervision counts the attempt and
// restarts it after a backoff (a restart is a new incarnation from the same Props, so the
// attempt count lives in the queue actor's run and the tracker's table, not here).
//
// The attempt's deadline is the actor's, not the IPFS call's: a pin fails once no block
// arrived for pin_timeout, an unpin once unpin_timeout passed, whether or not the backend has
// returned from its cancelled call. A call that ignores its context therefore cannot keep a
// CID "pinning" with nothing in progress; its late result is dropped (it belongs to an
// earlier incarnation).
type cidActor struct {
	cid     api.Cid
	mode    api.PinMode
	op      opKind
	cfg     Config
	backend ipfs.Backend
	ops     *sync.WaitGroup
	logger  *slog.Logger

	incarnation int

	cancel    context.CancelFunc
	cancelled bool
	// lastBlock is when the attempt started or (pins) last received a block, in Unix
	// nanoseconds; written by the IPFS goroutine's progress callback.
	lastBlock *atomic.Int64
	deadline  *time.Timer
	started   time.Time // of the attempt, for the duration metric
}

// observe adds the attempt's duration to the metrics (pincluster_pin_duration_seconds).
func (a *cidActor) observe(result string) {
	op := "pin"
	if a.op == opUnpin {
		op = "unpin"
	}
	telemetry.PinDuration.WithLabelValues(op, result).Observe(time.Since(a.started).Seconds())
}

func (a *cidActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.onStopping()
	case *actor.Stopped, *actor.Terminated:
	case operationDone:
		a.onDone(ctx, msg)
	case deadlineDue:
		a.onDeadline(ctx, msg)
	case messages.CancelOperation:
		a.onCancel()
	default:
		a.logger.Warn("cid actor: unknown message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *cidActor) onStarted(ctx actor.Context) {
	ctx.Request(ctx.Parent(), messages.OperationStarted{Cid: a.cid, Incarnation: a.incarnation})
	opCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.lastBlock = new(atomic.Int64)
	a.started = time.Now()
	a.lastBlock.Store(a.started.UnixNano())
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.ops.Add(1)
	go func() {
		defer a.ops.Done()
		err := a.run(opCtx)
		root.Send(self, operationDone{from: a, err: err})
	}()
	a.scheduleDeadline(ctx, a.limit())
}

// limit is how long the attempt may go without progress: pin_timeout since the last block for
// a pin, unpin_timeout in all for an unpin (which reports no progress).
func (a *cidActor) limit() time.Duration {
	if a.op == opUnpin {
		return a.cfg.UnpinTimeout
	}
	return a.cfg.PinTimeout
}

// scheduleDeadline sends deadlineDue to the actor after d (a timer is a scheduled message).
func (a *cidActor) scheduleDeadline(ctx actor.Context, d time.Duration) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.deadline = time.AfterFunc(d, func() { root.Send(self, deadlineDue{from: a}) })
}

// onDeadline fails the attempt when it made no progress for its limit (cancelling the IPFS
// call without waiting for it), or checks again when the limit would next be reached.
func (a *cidActor) onDeadline(ctx actor.Context, msg deadlineDue) {
	if msg.from != a || a.cancelled {
		return
	}
	limit := a.limit()
	idle := time.Since(time.Unix(0, a.lastBlock.Load()))
	if idle < limit {
		a.scheduleDeadline(ctx, limit-idle)
		return
	}
	a.cancel()
	a.observe("error")
	if a.op == opUnpin {
		panic(messages.UnpinFailed{Cid: a.cid, Err: fmt.Errorf("unpin timed out after %s", limit)})
	}
	panic(messages.PinFailed{Cid: a.cid, Err: fmt.Errorf("pin timed out: no block received for %s", limit)})
}

// run performs the IPFS call, turning a panic into an error.
func (a *cidActor) run(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in IPFS call: %v", r)
		}
	}()
	if a.op == opUnpin {
		err = a.backend.Unpin(ctx, a.cid)
		if errors.Is(err, ipfs.ErrNotPinned) {
			return nil
		}
		return err
	}
	// Every block received pushes the deadline back (see onDeadline).
	last := a.lastBlock
	return a.backend.Pin(ctx, a.cid, a.mode, func(uint64) { last.Store(time.Now().UnixNano()) })
}

func (a *cidActor) onDone(ctx actor.Context, msg operationDone) {
	if msg.from != a {
		return // from an earlier incarnation
	}
	if a.deadline != nil {
		a.deadline.Stop()
	}
	if a.cancelled {
		ctx.Stop(ctx.Self())
		return
	}
	if msg.err != nil {
		a.observe("error")
		if a.op == opUnpin {
			panic(messages.UnpinFailed{Cid: a.cid, Err: msg.err})
		}
		panic(messages.PinFailed{Cid: a.cid, Err: msg.err})
	}
	a.observe("ok")
	if a.op == opUnpin {
		ctx.Request(ctx.Parent(), messages.UnpinCompleted{Cid: a.cid})
	} else {
		ctx.Request(ctx.Parent(), messages.PinCompleted{Cid: a.cid})
	}
	// The queue actor stops this actor when it has taken the result: a Terminated (a system
	// message) must not overtake the completion.
}

// onCancel cancels the IPFS call; the actor stops when the call has returned (onDone).
func (a *cidActor) onCancel() {
	a.cancelled = true
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *cidActor) onStopping() {
	if a.deadline != nil {
		a.deadline.Stop()
	}
	if a.cancel != nil {
		a.cancel()
	}
}
