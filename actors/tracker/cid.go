package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/messages"
)

// operationDone is what the IPFS goroutine of a cid actor sends back to it.
type operationDone struct {
	from *cidActor // the incarnation that started the call
	err  error
}

// cidActor runs one pin or unpin of one CID. It lives only while its CID is in flight: it
// starts the IPFS call in a goroutine on Started and reports success to the tracker, which stops it; on
// failure it panics with messages.PinFailed/UnpinFailed so that the tracker's supervision
// counts the attempt and restarts it after a backoff (a restart is a new incarnation from the
// same Props, so the attempt count lives in the tracker's table, not here).
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
}

// errPinStalled is the cancel cause when no block arrived for pin_timeout.
var errPinStalled = errors.New("pin stalled")

func (a *cidActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.onStopping()
	case *actor.Stopped, *actor.Terminated:
	case operationDone:
		a.onDone(ctx, msg)
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
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.ops.Add(1)
	go func() {
		defer a.ops.Done()
		err := a.run(opCtx)
		root.Send(self, operationDone{from: a, err: err})
	}()
}

// run performs the IPFS call, turning a panic into an error.
func (a *cidActor) run(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in IPFS call: %v", r)
		}
	}()
	if a.op == opUnpin {
		return a.unpin(ctx)
	}
	return a.pin(ctx)
}

// pin times out only when no block arrived for PinTimeout: every progress report pushes the
// deadline back.
func (a *cidActor) pin(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	timer := time.AfterFunc(a.cfg.PinTimeout, func() { cancel(errPinStalled) })
	defer timer.Stop()
	progress := func(uint64) { timer.Reset(a.cfg.PinTimeout) }
	err := a.backend.Pin(ctx, a.cid, a.mode, progress)
	if errors.Is(context.Cause(ctx), errPinStalled) {
		return fmt.Errorf("pin timed out: no block received for %s", a.cfg.PinTimeout)
	}
	return err
}

func (a *cidActor) unpin(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, a.cfg.UnpinTimeout)
	defer cancel()
	err := a.backend.Unpin(ctx, a.cid)
	switch {
	case errors.Is(err, ipfs.ErrNotPinned):
		return nil
	case err != nil && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("unpin timed out after %s", a.cfg.UnpinTimeout)
	}
	return err
}

func (a *cidActor) onDone(ctx actor.Context, msg operationDone) {
	if msg.from != a {
		return // from an earlier incarnation
	}
	if a.cancelled {
		ctx.Stop(ctx.Self())
		return
	}
	if msg.err != nil {
		if a.op == opUnpin {
			panic(messages.UnpinFailed{Cid: a.cid, Err: msg.err})
		}
		panic(messages.PinFailed{Cid: a.cid, Err: msg.err})
	}
	if a.op == opUnpin {
		ctx.Request(ctx.Parent(), messages.UnpinCompleted{Cid: a.cid})
	} else {
		ctx.Request(ctx.Parent(), messages.PinCompleted{Cid: a.cid})
	}
	// The tracker stops this actor when it has taken the result: a Terminated (a system
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
	if a.cancel != nil {
		a.cancel()
	}
}
