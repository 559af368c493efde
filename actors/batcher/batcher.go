// Package batcher holds the batcher actor: it groups this peer's committed ops into batches
// (max_batch_size ops, or whatever arrived within max_batch_age) and publishes each batch
// over pubsub, then records the highest published seq. The batch itself is not signed: pubsub
// signs every message with the peer's key (StrictSign) and receivers take a batch only from its
// origin's own messages (actors/gossip), so a relay cannot forge one. A separate batch signature
// hashed every batch twice more with SHA-512: 11% of the origin's CPU in a batch ingest.
//
// Ops reach the batcher only after they are durable in the pinset store, so batching never
// risks an acknowledged pin: after a crash the peer republishes ops in (published, last seq]
// (Republish), which IPFS Cluster's batching cannot do. Pending ops are bounded by
// max_queue_size; Full tells the pin path to refuse new pins with a clear error before anything
// is written, and WaitRoom lets a batch ingest wait for room instead.
//
// Batch sizes: max_batch_size bounds the batches made of separate commits (single pins). One
// commit of more ops than that (a chunk of a batch ingest, thousands of ops) goes out whole, as
// one message, split only to stay under maxBulkBytes (the pubsub message limit is
// 8 MiB): signing, encoding and gossip cost per message, and receivers merge each message in
// one group commit, so a 200k-pin ingest is about fifty messages instead of eight hundred.
package batcher

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/telemetry"
)

// Publisher sends a batch (crdt.MarshalBatch, unsigned) to every peer, authenticated as this
// peer's (gossip.Topics: pubsub's message signature). It may block; the batcher calls it from
// a goroutine, one batch at a time.
type Publisher interface {
	Publish(ctx context.Context, data []byte) error
}

// Marker records the highest own seq published (persistence.Store.SetPublished).
type Marker interface {
	SetPublished(origin peer.ID, seq uint64) error
}

// Config tunes batching. Batching is on when both MaxBatchSize and MaxBatchAge are > 0;
// otherwise every commit is published at once.
type Config struct {
	MaxBatchSize int
	MaxBatchAge  time.Duration
	MaxQueueSize int
}

// publishOps is sent by the facade with ops already durable.
type publishOps struct{ ops []crdt.Op }

// awaitRoom asks for a roomGranted reply once at most max_queue_size - n ops are pending.
type awaitRoom struct{ n int }

// roomGranted answers awaitRoom and awaitDrained.
type roomGranted struct{}

// awaitDrained asks for a roomGranted reply once nothing is pending: every op the batcher was
// given before it is published.
type awaitDrained struct{}

// run is a stretch of the buffer: ops of one commit larger than max_batch_size (bulk), or of
// smaller commits gathered into batches of max_batch_size.
type run struct {
	n    int
	bulk bool
}

// Bounds of one bulk batch: its estimated wire size, and its ops.
const (
	maxBulkBytes = 4 << 20
	maxBulkOps   = 16384
)

// opWireOverhead is the estimated wire size of an op besides its pin JSON (CID, seq, clock,
// kind, framing).
const opWireOverhead = 96

// flushBatch fires when the oldest pending op reaches MaxBatchAge.
type flushBatch struct{ gen uint64 }

// published reports the end of a Publish run.
type published struct {
	from *batcherActor // the instance that published: a crashed one's report is stale
	ops  []crdt.Op
	err  error
}

// retryPublish fires when the backoff after a failed publish has passed.
type retryPublish struct{}

// Backoff bounds between attempts to publish a batch that failed.
const (
	retryMin = 500 * time.Millisecond
	retryMax = 30 * time.Second
)

type roomWaiter struct {
	sender *actor.PID
	n      int
}

type batcherActor struct {
	self    peer.ID
	cfg     Config
	pub     Publisher
	mark    Marker
	log     *slog.Logger
	pending *atomic.Int64 // ops queued or being published, read by Full

	buf        []crdt.Op
	runs       []run // cover buf, in order
	waiters    []roomWaiter
	drainers   []*actor.PID // awaitDrained senders
	inflight   bool
	timerGen   uint64
	timerArmed bool
	retry      time.Duration // current backoff after failed publishes; 0 when healthy
	waiting    bool          // a retry is scheduled; nothing is sent before it fires
	ctx        context.Context
	onStarted  func() // set on instances that replace a crashed one (facade.go)
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
	case *awaitRoom:
		a.onAwaitRoom(ctx, m)
	case *awaitDrained:
		if a.pending.Load() == 0 {
			ctx.Respond(&roomGranted{})
		} else if ctx.Sender() != nil {
			a.drainers = append(a.drainers, ctx.Sender())
		}
	case *actor.Started:
		if a.onStarted != nil {
			a.onStarted()
		}
	case *actor.Restarting:
		// This instance's buffer dies with it (the fresh one republishes from the published
		// mark): it no longer counts as pending, and the callers waiting for room ask again.
		a.pending.Add(-int64(len(a.buf)))
		for _, w := range a.waiters {
			if w.sender != nil {
				ctx.Send(w.sender, &roomGranted{})
			}
		}
		for _, s := range a.drainers {
			ctx.Send(s, &roomGranted{})
		}
	case *actor.Stopping, *actor.Stopped:
	default:
		a.log.Warn("batcher: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

func (a *batcherActor) batching() bool { return a.cfg.MaxBatchSize > 0 && a.cfg.MaxBatchAge > 0 }

func (a *batcherActor) onPublishOps(ctx actor.Context, m *publishOps) {
	a.buf = append(a.buf, m.ops...)
	a.addRun(len(m.ops), a.batching() && len(m.ops) > a.cfg.MaxBatchSize)
	if !a.batching() || len(a.buf) >= a.cfg.MaxBatchSize {
		a.send(ctx)
		return
	}
	if !a.timerArmed {
		a.timerArmed = true
		a.timerGen++
		timer.After(ctx, a.cfg.MaxBatchAge, &flushBatch{gen: a.timerGen})
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
	n := a.nextBatch()
	ops := append([]crdt.Op(nil), a.buf[:n]...)
	a.buf = a.buf[n:]
	a.takeRun(n)
	if len(a.buf) == 0 {
		a.timerArmed = false
		a.timerGen++
	}
	a.inflight = true
	self, system := ctx.Self(), ctx.ActorSystem()
	go func() {
		err := a.publish(ops)
		system.Root.Send(self, &published{from: a, ops: ops, err: err})
	}()
}

func (a *batcherActor) publish(ops []crdt.Op) error {
	data := crdt.MarshalBatch(crdt.Batch{Origin: a.self, Ops: ops})
	ctx, cancel := context.WithTimeout(a.ctx, 30*time.Second)
	defer cancel()
	if err := a.pub.Publish(ctx, data); err != nil {
		return err
	}
	telemetry.BatchesBroadcast.Inc()
	telemetry.OpsBroadcast.Add(float64(len(ops)))
	telemetry.BatchSize.Observe(float64(len(ops)))
	return nil
}

func (a *batcherActor) onPublished(ctx actor.Context, m *published) {
	if m.from != a {
		// The crashed instance's publish: its ops were counted pending then, and this instance
		// republished them from the mark, so they count no longer; nothing else is its business.
		a.pending.Add(-int64(len(m.ops)))
		a.grantRoom(ctx)
		return
	}
	a.inflight = false
	if m.err != nil {
		// Put the ops back in front and retry with backoff: the published mark must never pass
		// an op that was not broadcast (a restart republishes from the mark).
		a.buf = append(m.ops, a.buf...)
		a.runs = append([]run{{n: len(m.ops), bulk: true}}, a.runs...) // goes out as it was
		a.retry = min(max(2*a.retry, retryMin), retryMax)
		a.log.Warn("batcher: publishing batch failed; retrying", "ops", len(m.ops), "in", a.retry, "err", m.err)
		a.waiting = true
		timer.After(ctx, a.retry, &retryPublish{})
		return
	}
	a.retry = 0
	a.pending.Add(-int64(len(m.ops)))
	a.grantRoom(ctx)
	if last := m.ops[len(m.ops)-1].Seq; a.mark.SetPublished(a.self, last) != nil {
		a.log.Warn("batcher: recording published seq", "seq", last)
	}
	if len(a.buf) > 0 && (!a.batching() || len(a.buf) >= a.cfg.MaxBatchSize || !a.timerArmed) {
		a.send(ctx)
	}
}

// addRun records n ops appended to the buffer.
func (a *batcherActor) addRun(n int, bulk bool) {
	if k := len(a.runs); !bulk && k > 0 && !a.runs[k-1].bulk {
		a.runs[k-1].n += n
		return
	}
	a.runs = append(a.runs, run{n: n, bulk: bulk})
}

// nextBatch is the number of ops of the next batch: up to max_batch_size of a run of small
// commits, or as much of a bulk run as fits maxBulkBytes and maxBulkOps.
func (a *batcherActor) nextBatch() int {
	if !a.batching() || len(a.runs) == 0 {
		return len(a.buf)
	}
	r := a.runs[0]
	if !r.bulk {
		return min(r.n, a.cfg.MaxBatchSize)
	}
	n, size := 0, 0
	for n < r.n && n < maxBulkOps {
		size += len(a.buf[n].PinJSON) + opWireOverhead
		if n > 0 && size > maxBulkBytes {
			break
		}
		n++
	}
	return n
}

// takeRun removes n ops from the front of the runs.
func (a *batcherActor) takeRun(n int) {
	for n > 0 && len(a.runs) > 0 {
		if a.runs[0].n > n {
			a.runs[0].n -= n
			return
		}
		n -= a.runs[0].n
		a.runs = a.runs[1:]
	}
}

// room reports whether n more ops of a batch ingest fit (roomFor).
func (a *batcherActor) room(n int) bool { return roomFor(a.cfg.MaxQueueSize, a.pending.Load(), n) }

// roomFor reports whether n more ops of a batch ingest fit in half of max_queue_size, so that
// single pins (refused by Full at the whole of it) still go in while a batch runs; always when
// nothing is pending, so that a chunk larger than that still goes in alone.
func roomFor(maxQueue int, pending int64, n int) bool {
	return maxQueue <= 0 || pending == 0 || pending+int64(n) <= int64(maxQueue/2)
}

func (a *batcherActor) onAwaitRoom(ctx actor.Context, m *awaitRoom) {
	if a.room(m.n) {
		ctx.Respond(&roomGranted{})
		return
	}
	a.waiters = append(a.waiters, roomWaiter{sender: ctx.Sender(), n: m.n})
}

// grantRoom answers the waiters that now fit, in arrival order, and the drainers once nothing
// is pending.
func (a *batcherActor) grantRoom(ctx actor.Context) {
	if a.pending.Load() == 0 {
		for _, s := range a.drainers {
			ctx.Send(s, &roomGranted{})
		}
		a.drainers = nil
	}
	for len(a.waiters) > 0 && a.room(a.waiters[0].n) {
		if a.waiters[0].sender != nil {
			ctx.Send(a.waiters[0].sender, &roomGranted{})
		}
		a.waiters = a.waiters[1:]
	}
}
