package tracker

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// item is the tracker's compact record of one CID of the window (queued, running, retrying,
// failed or settling). Settled CIDs (pinned, unpinned) have no item; queued CIDs beyond the
// window are only in the durable queue.
type item struct {
	seq      uint64 // its entry in the durable queue (0 until written)
	gen      uint64 // bumped on every change of phase: makes a pending eviction stale
	cid      api.Cid
	mode     api.PinMode
	created  time.Time // the pin's timestamp, for priority_pin_max_age
	op       opKind
	phase    phase
	attempts int
	err      string
	priority bool      // the queue of the last (or pending) attempt
	ts       time.Time // last change
	ticket   uint64    // matches its queue entry while queued
	pid      *actor.PID
	// incarnation is the expected incarnation of the cid actor (1, then +1 per restart).
	incarnation int
	retrySeq    uint64 // identifies the pending retryDue while retrying
	draining    bool   // pid is finishing a cancelled operation; requeue when it terminates
	waiters     []*actor.PID
}

func (it *item) short() api.PinInfoShort {
	return api.PinInfoShort{
		Status:       inFlightStatus(it.op, it.phase),
		TS:           it.ts,
		Error:        it.err,
		AttemptCount: it.attempts,
		PriorityPin:  it.priority,
	}
}

// trackerActor owns the table of CIDs in flight, the two queues and the slots, and supervises
// the cid actors (it implements actor.SupervisorStrategy, so failures of its children are
// handled here, in its own mailbox, with access to the table).
type trackerActor struct {
	system   *actor.ActorSystem
	self     *actor.PID
	peer     peer.ID // this peer: pins allocated to it are tracked
	cfg      Config
	backend  ipfs.Backend
	logger   *slog.Logger
	ops      *sync.WaitGroup
	queueLen *atomic.Int64
	queue    Queue

	items    map[string]*item // the window, by CID key
	byPID    map[string]string
	priority pinQueue
	normal   pinQueue
	queued   int // items in phaseQueued
	active   int // live cid actors (slots in use)
	tickets  uint64
	spawned  uint64
	stopping bool // no new cid actors once the tracker is stopping

	// The durable queue (window.go): writes wait in pending while one is in flight; the
	// window is filled from the entries after cursor, one page read at a time.
	stored   int // queued entries in the durable queue, as of the last write
	pending  writeBatch
	writing  bool
	closed   bool // the writer is closed (stopped or restarting): nothing more is written
	inflight *writeBatch
	writeq   chan *writeBatch
	cursor   uint64
	paging   bool
	// evictedWhilePaging holds CIDs that left the window during the page read in flight: the
	// page may still show their entries (read before the delete committed).
	evictedWhilePaging map[string]struct{}
	exhausted          bool   // the last page reached the end of the queue; cleared by puts
	epoch              uint64 // counts puts, so a page read knows whether one landed meanwhile
}

func newTrackerActor(system *actor.ActorSystem, self peer.ID, cfg Config, backend ipfs.Backend, queue Queue, logger *slog.Logger, ops *sync.WaitGroup, queueLen *atomic.Int64) *trackerActor {
	return &trackerActor{
		system: system, peer: self, cfg: cfg, backend: backend, queue: queue, logger: logger, ops: ops, queueLen: queueLen,
		stored:             queue.QueueLen(),
		items:              map[string]*item{},
		evictedWhilePaging: map[string]struct{}{},
		byPID:              map[string]string{},
		priority:           pinQueue{name: "priority"},
		normal:             pinQueue{name: "normal"},
	}
}

var _ actor.SupervisorStrategy = (*trackerActor)(nil)

// faultHook, when set (tests only), sees every message of the tracker actor before it is
// handled; a panic there crashes the actor, to show that supervision restarts it fresh.
var faultHook atomic.Pointer[func(any)]

func (a *trackerActor) Receive(ctx actor.Context) {
	if h := faultHook.Load(); h != nil {
		(*h)(ctx.Message())
	}
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.self = ctx.Self()
	case *actor.Stopped:
		a.closeWriter()
	case *actor.Stopping:
		a.onStopping(ctx)
	case *actor.Restarting:
		// The fresh instance rebuilds from the durable queue: this one starts nothing more.
		a.onStopping(ctx)
		a.closeWriter()
	case *actor.Terminated:
		a.onTerminated(ctx, msg)
	case messages.TrackPin:
		ack := a.newAck(ctx)
		a.track(ctx, msg.Pin, ack)
		a.finish(ctx, ack)
	case messages.TrackPins:
		ack := a.newAck(ctx)
		for _, pin := range msg.Pins {
			a.track(ctx, pin, ack)
		}
		a.finish(ctx, ack)
	case messages.UntrackPin:
		ack := a.newAck(ctx)
		a.untrack(ctx, msg.Cid, ack)
		a.finish(ctx, ack)
	case messages.PinsetChanged:
		a.onPinsetChanged(ctx, msg)
	case statusQuery:
		a.onStatus(ctx, msg)
	case listQuery:
		a.onList(ctx)
	case recoverPin:
		a.onRecover(ctx, msg)
	case messages.RecoverAllPins:
		a.onRecoverAll(ctx)
	case queueWritten:
		a.onQueueWritten(ctx, msg)
	case queuePaged:
		a.onQueuePaged(msg)
	case retryDue:
		a.onRetryDue(ctx, msg)
	case messages.OperationStarted:
		a.onOperationStarted(ctx, msg)
	case messages.PinCompleted:
		a.onCompleted(ctx, msg.Cid, opPin)
	case messages.UnpinCompleted:
		a.onCompleted(ctx, msg.Cid, opUnpin)
	default:
		a.logger.Warn("tracker: unknown message", "type", fmt.Sprintf("%T", msg))
	}
	a.page(ctx)
	a.dispatch(ctx)
	a.flushWrites(ctx)
	a.queueLen.Store(int64(a.stored))
}

func (a *trackerActor) setPhase(it *item, p phase) {
	if it.phase == phaseQueued {
		a.queued--
	}
	if p == phaseQueued {
		a.queued++
	}
	it.phase = p
	it.gen++
	it.ts = time.Now()
}

// full refuses a new item beyond max_pin_queue_size, counted on the durable queue.
func (a *trackerActor) full() error {
	if a.stored >= a.cfg.MaxPinQueueSize {
		return queueFull(a.cfg.MaxPinQueueSize)
	}
	return nil
}

// enqueue puts it in the priority or normal queue, or leaves it queued until its previous
// cid actor has drained.
func (a *trackerActor) enqueue(it *item, priority bool) {
	a.setPhase(it, phaseQueued)
	it.priority = priority
	if it.pid != nil {
		it.draining = true
		return
	}
	a.tickets++
	it.ticket = a.tickets
	if priority {
		a.priority.push(it, it.ticket)
	} else {
		a.normal.push(it, it.ticket)
	}
}

// cancelRunning makes the item's cid actor stop its operation (it drains before terminating).
func (a *trackerActor) cancelRunning(ctx actor.Context, it *item) {
	if it.pid == nil {
		return
	}
	if it.phase == phaseRetrying {
		ctx.Stop(it.pid) // suspended until its restart: nothing runs, stop at once
	} else {
		ctx.Send(it.pid, messages.CancelOperation{})
	}
	it.draining = true
}

// switchOp turns it into an operation of kind op with a fresh attempt count, cancelling what
// runs, and queues it.
func (a *trackerActor) switchOp(ctx actor.Context, it *item, op opKind, now time.Time) {
	if it.op != op {
		it.attempts, it.err = 0, ""
	}
	it.op = op
	if it.phase == phaseRunning || it.phase == phaseRetrying {
		a.cancelRunning(ctx, it)
	}
	if it.phase != phaseQueued {
		a.enqueue(it, usePriorityQueue(it.attempts, it.created, now, a.cfg))
	}
	a.put(it.cid, op == opUnpin, it.mode, it.created, writeTag{it: it})
	a.answerWaiters(ctx, it.cid, it.short())
}

// track queues a pin (or switches an in-flight unpin back to a pin). A CID outside the window
// is only put in the durable queue (refused there when it is full): ack is answered once
// that is durable, and the window pages it in when its turn comes.
func (a *trackerActor) track(ctx actor.Context, pin api.Pin, ack *pendingAck) {
	it := a.items[pin.Cid.KeyString()]
	if it == nil {
		a.put(pin.Cid, false, pin.Mode, pin.Timestamp, writeTag{ack: ack})
		return
	}
	it.mode, it.created = pin.Mode, pin.Timestamp
	if it.op == opUnpin || it.phase == phaseFailed || it.phase == phaseSettling {
		a.switchOp(ctx, it, opPin, time.Now())
	}
}

// untrack queues an unpin (or switches an in-flight pin to an unpin).
func (a *trackerActor) untrack(ctx actor.Context, c api.Cid, ack *pendingAck) {
	it := a.items[c.KeyString()]
	if it == nil {
		a.put(c, true, api.PinModeRecursive, time.Time{}, writeTag{ack: ack})
		return
	}
	if it.op == opPin || it.phase == phaseFailed || it.phase == phaseSettling {
		a.switchOp(ctx, it, opUnpin, time.Now())
	}
}

func (a *trackerActor) onStatus(ctx actor.Context, msg statusQuery) {
	it := a.items[msg.cid.KeyString()]
	switch {
	case it == nil:
		ctx.Respond(statusReply{})
	case it.phase == phaseSettling:
		ctx.Respond(statusReply{settled: true})
	default:
		ctx.Respond(statusReply{found: true, info: it.short()})
	}
}

func (a *trackerActor) onList(ctx actor.Context) {
	var r listReply
	r.items = make([]inFlightItem, 0, len(a.items))
	for _, it := range a.items {
		if it.phase == phaseSettling {
			r.skip = append(r.skip, it.cid)
			continue
		}
		r.items = append(r.items, inFlightItem{cid: it.cid, info: it.short()})
	}
	ctx.Respond(r)
}

// onRecover re-queues an item that gave up in the priority queue, restarts at once one that
// waits for its backoff (or queues a pin of an unexpectedly unpinned CID), and answers when
// that attempt ends.
func (a *trackerActor) onRecover(ctx actor.Context, msg recoverPin) {
	k := msg.pin.Cid.KeyString()
	it := a.items[k]
	if it == nil {
		// Out of the window: recovered at once, beyond the window if need be (an operator's
		// request), and queued durably (a failed entry keeps its attempts).
		if err := a.full(); err != nil && msg.failed == nil {
			ctx.Respond(messages.RecoverPinResponse{Err: err})
			return
		}
		it = &item{cid: msg.pin.Cid, mode: msg.pin.Mode, created: msg.pin.Timestamp, op: opPin}
		if f := msg.failed; f != nil {
			it.attempts, it.err = f.Attempts, f.Err
			if f.Unpin {
				it.op = opUnpin
			}
		}
		a.items[k] = it
		a.enqueue(it, true)
		a.put(it.cid, it.op == opUnpin, it.mode, it.created, writeTag{it: it})
	} else if it.phase == phaseFailed || it.phase == phaseSettling {
		a.enqueue(it, true)
		a.put(it.cid, it.op == opUnpin, it.mode, it.created, writeTag{it: it})
	} else {
		a.restartNow(ctx, it) // waiting for its backoff: retry now
	}
	if ctx.Sender() != nil {
		it.waiters = append(it.waiters, ctx.Sender())
	}
}

// onRecoverAll re-queues every item that gave up (by the queue rules) and ends the backoff of
// those waiting to retry.
func (a *trackerActor) onRecoverAll(ctx actor.Context) {
	n, now := 0, time.Now()
	for _, it := range a.items {
		switch it.phase {
		case phaseFailed:
			a.enqueue(it, usePriorityQueue(it.attempts, it.created, now, a.cfg))
			a.put(it.cid, it.op == opUnpin, it.mode, it.created, writeTag{it: it})
			n++
		case phaseRetrying:
			if a.restartNow(ctx, it) {
				n++
			}
		}
	}
	// Failed items out of the window go back to the durable queue's tail; the answer counts
	// them once that is written.
	ack := &pendingAck{to: ctx.Sender(), all: true, count: n}
	a.write(persistence.QueueOp{Kind: persistence.QueueRequeueFailed}, writeTag{ack: ack})
}

// answerWaiters tells every Recover waiting on the item how its attempt ended.
func (a *trackerActor) answerWaiters(ctx actor.Context, c api.Cid, info api.PinInfoShort) {
	it := a.items[c.KeyString()]
	if it == nil {
		return
	}
	for _, w := range it.waiters {
		ctx.Send(w, messages.RecoverPinResponse{Info: info})
	}
	it.waiters = nil
}

// dispatch fills free slots, priority queue first.
func (a *trackerActor) dispatch(ctx actor.Context) {
	for !a.stopping && a.active < a.cfg.ConcurrentPins {
		prio := true
		it := a.priority.pop()
		if it == nil {
			prio = false
			if it = a.normal.pop(); it == nil {
				return
			}
		}
		a.start(ctx, it, prio)
	}
}
