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
)

// item is the tracker's compact record of one CID in flight (queued, running, retrying or
// failed). Settled CIDs (pinned, unpinned) have no item.
type item struct {
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

	items    map[string]*item // by CID key
	byPID    map[string]string
	priority pinQueue
	normal   pinQueue
	queued   int // items in phaseQueued
	active   int // live cid actors (slots in use)
	tickets  uint64
	spawned  uint64
	stopping bool // no new cid actors once the tracker is stopping
}

func newTrackerActor(system *actor.ActorSystem, self peer.ID, cfg Config, backend ipfs.Backend, logger *slog.Logger, ops *sync.WaitGroup, queueLen *atomic.Int64) *trackerActor {
	return &trackerActor{
		system: system, peer: self, cfg: cfg, backend: backend, logger: logger, ops: ops, queueLen: queueLen,
		items:    map[string]*item{},
		byPID:    map[string]string{},
		priority: pinQueue{name: "priority"},
		normal:   pinQueue{name: "normal"},
	}
}

var _ actor.SupervisorStrategy = (*trackerActor)(nil)

func (a *trackerActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.self = ctx.Self()
	case *actor.Stopped, *actor.Restarting:
	case *actor.Stopping:
		a.onStopping(ctx)
	case *actor.Terminated:
		a.onTerminated(ctx, msg)
	case messages.TrackPin:
		ctx.Respond(messages.TrackerAck{Err: a.track(ctx, msg.Pin)})
	case messages.TrackPins:
		a.onTrackPins(ctx, msg)
	case messages.UntrackPin:
		ctx.Respond(messages.TrackerAck{Err: a.untrack(ctx, msg.Cid)})
	case messages.PinsetChanged:
		a.onPinsetChanged(ctx, msg)
	case messages.InFlightStatusRequest:
		a.onStatus(ctx, msg)
	case messages.InFlightListRequest:
		a.onList(ctx)
	case messages.RecoverPin:
		a.onRecover(ctx, msg)
	case messages.RecoverAllPins:
		a.onRecoverAll(ctx)
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
	a.dispatch(ctx)
	a.queueLen.Store(int64(a.queued + a.active))
}

func (a *trackerActor) setPhase(it *item, p phase) {
	if it.phase == phaseQueued {
		a.queued--
	}
	if p == phaseQueued {
		a.queued++
	}
	it.phase = p
	it.ts = time.Now()
}

func (a *trackerActor) full() error {
	if a.queued+a.active >= a.cfg.MaxPinQueueSize {
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
	a.answerWaiters(ctx, it.cid, it.short())
}

// track queues a pin (or switches an in-flight unpin back to a pin).
func (a *trackerActor) track(ctx actor.Context, pin api.Pin) error {
	k, now := pin.Cid.KeyString(), time.Now()
	it := a.items[k]
	if it == nil {
		if err := a.full(); err != nil {
			return err
		}
		it = &item{cid: pin.Cid, mode: pin.Mode, created: pin.Timestamp, op: opPin}
		a.items[k] = it
		a.enqueue(it, usePriorityQueue(0, it.created, now, a.cfg))
		return nil
	}
	it.mode, it.created = pin.Mode, pin.Timestamp
	if it.op == opUnpin || it.phase == phaseFailed {
		a.switchOp(ctx, it, opPin, now)
	}
	return nil
}

func (a *trackerActor) onTrackPins(ctx actor.Context, msg messages.TrackPins) {
	var first error
	for _, pin := range msg.Pins {
		if err := a.track(ctx, pin); err != nil && first == nil {
			first = err
		}
	}
	ctx.Respond(messages.TrackerAck{Err: first})
}

// untrack queues an unpin (or switches an in-flight pin to an unpin).
func (a *trackerActor) untrack(ctx actor.Context, c api.Cid) error {
	k, now := c.KeyString(), time.Now()
	it := a.items[k]
	if it == nil {
		if err := a.full(); err != nil {
			return err
		}
		it = &item{cid: c, op: opUnpin}
		a.items[k] = it
		a.enqueue(it, true)
		return nil
	}
	if it.op == opPin || it.phase == phaseFailed {
		a.switchOp(ctx, it, opUnpin, now)
	}
	return nil
}

func (a *trackerActor) onStatus(ctx actor.Context, msg messages.InFlightStatusRequest) {
	it := a.items[msg.Cid.KeyString()]
	if it == nil {
		ctx.Respond(messages.InFlightStatusResponse{})
		return
	}
	ctx.Respond(messages.InFlightStatusResponse{Found: true, Info: it.short()})
}

func (a *trackerActor) onList(ctx actor.Context) {
	items := make([]messages.InFlightItem, 0, len(a.items))
	for _, it := range a.items {
		items = append(items, messages.InFlightItem{Cid: it.cid, Info: it.short()})
	}
	ctx.Respond(messages.InFlightListResponse{Items: items})
}

// onRecover re-queues an item that gave up in the priority queue, restarts at once one that
// waits for its backoff (or queues a pin of an unexpectedly unpinned CID), and answers when
// that attempt ends.
func (a *trackerActor) onRecover(ctx actor.Context, msg messages.RecoverPin) {
	k := msg.Pin.Cid.KeyString()
	it := a.items[k]
	if it == nil {
		if err := a.full(); err != nil {
			ctx.Respond(messages.RecoverPinResponse{Err: err})
			return
		}
		it = &item{cid: msg.Pin.Cid, mode: msg.Pin.Mode, created: msg.Pin.Timestamp, op: opPin}
		a.items[k] = it
		a.enqueue(it, true)
	} else if it.phase == phaseFailed {
		a.enqueue(it, true)
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
			n++
		case phaseRetrying:
			if a.restartNow(ctx, it) {
				n++
			}
		}
	}
	ctx.Respond(messages.RecoverAllPinsResponse{Count: n})
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
