// Package batcher holds the batcher actor: it groups this peer's committed ops into batches
// (max_batch_size ops, or whatever arrived within max_batch_age), signs each batch with the
// peer's key and publishes it over pubsub, then records the highest published seq.
//
// Ops reach the batcher only after they are durable in the pinset store, so batching never
// risks an acknowledged pin: after a crash the peer republishes ops in (published, last seq]
// (Republish), which IPFS Cluster's batching cannot do. Pending ops are bounded by
// max_queue_size; Full tells the pin path to refuse new pins with a clear error before anything
// is written.
package batcher

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/messages"
)

// Publisher sends a batch to every peer (pubsub). It may block; the batcher calls it from a
// goroutine, one batch at a time.
type Publisher interface {
	Publish(ctx context.Context, data []byte) error
}

// Marker records the highest own seq published (persistence.Store.SetPublished).
type Marker interface {
	SetPublished(origin peer.ID, seq uint64) error
}

// Signer signs a batch's signing bytes with the origin's private key.
type Signer func([]byte) ([]byte, error)

// Config tunes batching. Batching is on when both MaxBatchSize and MaxBatchAge are > 0;
// otherwise every commit is published at once.
type Config struct {
	MaxBatchSize int
	MaxBatchAge  time.Duration
	MaxQueueSize int
}

// publishOps is sent by the facade with ops already durable.
type publishOps struct{ ops []messages.Op }

// flushBatch fires when the oldest pending op reaches MaxBatchAge.
type flushBatch struct{ gen uint64 }

// published reports the end of a Publish run.
type published struct {
	ops []messages.Op
	err error
}

// retryPublish fires when the backoff after a failed publish has passed.
type retryPublish struct{}

// Backoff bounds between attempts to publish a batch that failed.
const (
	retryMin = 500 * time.Millisecond
	retryMax = 30 * time.Second
)

type batcherActor struct {
	self    peer.ID
	cfg     Config
	pub     Publisher
	mark    Marker
	sign    Signer
	log     *slog.Logger
	pending *atomic.Int64 // ops queued or being published, read by Full

	buf        []messages.Op
	inflight   bool
	timerGen   uint64
	timerArmed bool
	retry      time.Duration // current backoff after failed publishes; 0 when healthy
	waiting    bool          // a retry is scheduled; nothing is sent before it fires
	ctx        context.Context
}

func (a *batcherActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *publishOps:
		a.onPublishOps(ctx, m)
	case messages.PinsetChanged: // subscribed to the pinset: broadcast local changes
		if m.Local && len(m.Ops) > 0 {
			a.pending.Add(int64(len(m.Ops)))
			a.onPublishOps(ctx, &publishOps{ops: m.Ops})
		}
	case *flushBatch:
		a.onFlush(ctx, m)
	case *published:
		a.onPublished(ctx, m)
	case *retryPublish:
		a.waiting = false
		a.send(ctx)
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		a.log.Warn("batcher: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

func (a *batcherActor) batching() bool { return a.cfg.MaxBatchSize > 0 && a.cfg.MaxBatchAge > 0 }

func (a *batcherActor) onPublishOps(ctx actor.Context, m *publishOps) {
	a.buf = append(a.buf, m.ops...)
	if !a.batching() || len(a.buf) >= a.cfg.MaxBatchSize {
		a.send(ctx)
		return
	}
	if !a.timerArmed {
		a.timerArmed = true
		a.timerGen++
		gen, self, system := a.timerGen, ctx.Self(), ctx.ActorSystem()
		time.AfterFunc(a.cfg.MaxBatchAge, func() { system.Root.Send(self, &flushBatch{gen: gen}) })
	}
}

func (a *batcherActor) onFlush(ctx actor.Context, m *flushBatch) {
	if m.gen != a.timerGen {
		return
	}
	a.timerArmed = false
	a.send(ctx)
}

// send publishes up to MaxBatchSize buffered ops unless a publish is in flight (then
// onPublished sends the rest).
func (a *batcherActor) send(ctx actor.Context) {
	if a.inflight || a.waiting || len(a.buf) == 0 {
		return
	}
	n := len(a.buf)
	if a.batching() && n > a.cfg.MaxBatchSize {
		n = a.cfg.MaxBatchSize
	}
	ops := append([]messages.Op(nil), a.buf[:n]...)
	a.buf = a.buf[n:]
	if len(a.buf) == 0 {
		a.timerArmed = false
		a.timerGen++
	}
	a.inflight = true
	self, system := ctx.Self(), ctx.ActorSystem()
	go func() {
		err := a.publish(ops)
		system.Root.Send(self, &published{ops: ops, err: err})
	}()
}

func (a *batcherActor) publish(ops []messages.Op) error {
	b := messages.Batch{Origin: a.self, Ops: ops}
	sig, err := a.sign(b.SigningBytes())
	if err != nil {
		return fmt.Errorf("signing batch: %w", err)
	}
	b.Signature = sig
	ctx, cancel := context.WithTimeout(a.ctx, 30*time.Second)
	defer cancel()
	if err := a.pub.Publish(ctx, messages.MarshalBatch(b)); err != nil {
		return err
	}
	return nil
}

func (a *batcherActor) onPublished(ctx actor.Context, m *published) {
	a.inflight = false
	if m.err != nil {
		// Put the ops back in front and retry with backoff: the published mark must never pass
		// an op that was not broadcast (a restart republishes from the mark).
		a.buf = append(m.ops, a.buf...)
		a.retry = min(max(2*a.retry, retryMin), retryMax)
		a.log.Warn("batcher: publishing batch failed; retrying", "ops", len(m.ops), "in", a.retry, "err", m.err)
		a.waiting = true
		self, system := ctx.Self(), ctx.ActorSystem()
		time.AfterFunc(a.retry, func() { system.Root.Send(self, &retryPublish{}) })
		return
	}
	a.retry = 0
	a.pending.Add(-int64(len(m.ops)))
	if last := m.ops[len(m.ops)-1].Seq; a.mark.SetPublished(a.self, last) != nil {
		a.log.Warn("batcher: recording published seq", "seq", last)
	}
	if len(a.buf) > 0 && (!a.batching() || len(a.buf) >= a.cfg.MaxBatchSize || !a.timerArmed) {
		a.send(ctx)
	}
}
