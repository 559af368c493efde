package batcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// Batcher is the typed facade of the batcher actor.
type Batcher struct {
	system  *actor.ActorSystem
	pid     *actor.PID
	cfg     Config
	self    peer.ID
	log     *slog.Logger
	pending *atomic.Int64
	ctx     context.Context // cancelled by Stop; the republish worker runs under it
	cancel  context.CancelFunc
	workers sync.WaitGroup
	src     atomic.Pointer[Unpublished] // Republish's source, for restarted instances
}

// Spawn starts the batcher under name "batcher". Every instance is fresh: after a crash the
// buffer of the crashed one is gone, and the new one republishes from the published mark
// (Republish's source), as a restarted peer does.
func Spawn(parent root.Parent, self peer.ID, cfg Config, pub Publisher, mark Marker, log *slog.Logger) (*Batcher, error) {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Batcher{system: parent.ActorSystem(), cfg: cfg, pending: &atomic.Int64{}, ctx: ctx, cancel: cancel, log: log, self: self}
	started := false
	produce := func() actor.Actor {
		a := &batcherActor{self: self, cfg: cfg, pub: pub, mark: mark, log: log, pending: b.pending, ctx: ctx}
		if started {
			a.onStarted = b.republishAfterCrash
		}
		started = true
		return a
	}
	pid, err := parent.SpawnNamed(actor.PropsFromProducer(produce), "batcher")
	if err != nil {
		cancel()
		return nil, fmt.Errorf("batcher: spawn: %w", err)
	}
	b.pid = pid
	return b, nil
}

// PID is the batcher actor's address, for subscribing it to the pinset's PinsetChanged events:
// it broadcasts the local ones (as Publish does).
func (b *Batcher) PID() *actor.PID { return b.pid }

// Publish queues durable ops for broadcast. It never blocks.
func (b *Batcher) Publish(ops []crdt.Op) {
	if len(ops) == 0 {
		return
	}
	b.pending.Add(int64(len(ops)))
	b.system.Root.Send(b.pid, &publishOps{ops: ops})
}

// ErrQueueFull is matched (errors.Is) by Full's error, which also matches api.ErrUnavailable.
// It is api.ErrQueueFull.
var ErrQueueFull = api.ErrQueueFull

// Full returns an error wrapping ErrQueueFull and api.ErrUnavailable when max_queue_size ops
// wait for broadcast. It is the one check of that bound: the peer calls it before storing a pin.
func (b *Batcher) Full() error {
	if b.cfg.MaxQueueSize > 0 && b.pending.Load() >= int64(b.cfg.MaxQueueSize) {
		return fmt.Errorf("%w: the broadcast %w (consensus.crdt.batching.max_queue_size=%d): slow the intake or raise it", api.ErrUnavailable, ErrQueueFull, b.cfg.MaxQueueSize)
	}
	return nil
}

// roomWait bounds WaitRoom: a broadcast that makes no progress for this long is failing.
const roomWait = time.Minute

// WaitRoom returns once n more ops fit in half of max_queue_size (at once when they fit now),
// so a batch ingest slows to the broadcast's pace instead of being refused, and leaves room for
// single pins. When the queue does not
// drain within a minute (publishing keeps failing) it returns Full's error; when ctx ends,
// ctx's error.
func (b *Batcher) WaitRoom(ctx context.Context, n int) error {
	if roomFor(b.cfg.MaxQueueSize, b.pending.Load(), n) {
		return nil
	}
	res, err := ask.Request(ctx, b.system, b.pid, &awaitRoom{n: n}, roomWait)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, actor.ErrTimeout):
		if ferr := b.Full(); ferr != nil {
			return ferr
		}
		return nil
	case errors.Is(err, actor.ErrDeadLetter):
		return fmt.Errorf("%w: the batcher is stopped", api.ErrUnavailable)
	case err != nil:
		return err
	}
	if _, ok := res.(*roomGranted); !ok {
		return fmt.Errorf("batcher: unexpected reply %T", res)
	}
	return nil
}

// WaitPublished returns once every op given to the batcher before the call is published, or
// after bound (publishing keeps failing: the ops stay durable and go out later), with ctx's
// error when ctx ends first. A batch ingest calls it after its last commit, so that its end
// means "broadcast", not only "durable here": the other peers then hold the batch within about
// one apply of its last message.
func (b *Batcher) WaitPublished(ctx context.Context, bound time.Duration) error {
	// Always through the actor: the ops of the last commit are counted when the actor takes
	// the pinset's PinsetChanged, which is in its mailbox before this request.
	_, err := ask.Request(ctx, b.system, b.pid, &awaitDrained{}, bound)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, actor.ErrTimeout):
		return fmt.Errorf("%w: %d ops still wait for broadcast after %s", api.ErrUnavailable, b.pending.Load(), bound)
	case errors.Is(err, actor.ErrDeadLetter):
		return fmt.Errorf("%w: the batcher is stopped", api.ErrUnavailable)
	}
	return err
}

// Pending is the number of ops waiting for broadcast.
func (b *Batcher) Pending() int { return int(b.pending.Load()) }

// Stop stops the batcher; unpublished ops are republished at the next start.
func (b *Batcher) Stop() {
	b.cancel()
	b.workers.Wait()
	_ = b.system.Root.StopFuture(b.pid).Wait()
}
