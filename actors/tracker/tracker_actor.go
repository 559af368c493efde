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
	seq uint64 // its entry in the durable queue (0 until written)
	// durable: the item has (or is about to have) an entry in the durable queue. An item
	// admitted to a window with room and no durable backlog lives in memory only until its
	// operation changes hands (switchOp, recover) or it fails (window.go: memory first).
	durable bool
	// batch is the seq of the batch entry it was paged in from (batch.go; 0: none): that entry
	// counts it in the durable queue and is deleted once its last item left the window.
	batch    uint64
	gen      uint64 // bumped on every change of phase: makes a pending eviction stale
	cid      api.Cid
	mode     api.PinMode
	created  time.Time // the pin's timestamp, for priority_pin_max_age
	op       opKind
	phase    phase
	attempts int
	err      string
	priority bool      // the queue of the last (or pending) attempt
	express  bool      // handed to the express queue until its attempt starts (express.go)
	ts       time.Time // last change
	// ticket names its hand-off to the queue actor q (0: none); running once that started it
	// (it holds a slot until the run ends).
	ticket   uint64
	q        queueKind
	running  bool
	draining bool   // its hand-off is withdrawn; handed again (its new operation) once ended
	retrySeq uint64 // identifies the pending demotionDue of a demoted item
	waiters  []*actor.PID
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

// trackerActor owns the table of CIDs in flight (the window over the durable queue) and the
// pool of slots; it hands the items to its queue actors and grants them slots, express and
// priority first (slots.go), and supervises them (it implements actor.SupervisorStrategy: a
// crashed queue actor restarts fresh and is handed its items again).
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
	resync   *actor.PID // a restarted instance asks it for a state sync (Tracker.NotifyRestarts)
	// changesTo is told of status changes (Tracker.NotifyChanges); changed waits for it.
	changesTo *atomic.Pointer[actor.PID]
	changed   []messages.StatusChange
	unnoted   *atomic.Uint64 // Tracker.Unnoted (nil in tests that build the actor alone)
	// gen is Tracker.Incarnation's counter, bumped when a queue write failed (nil in tests
	// that build the actor alone).
	gen *atomic.Int32

	items    map[string]*item     // the window, by CID key
	expected map[string]time.Time // roots whose blocks were pushed here, by CID key (express.go)
	queues   [numQueues]queueRef
	tickets  uint64
	flushed  uint64 // the last ticket sent (or due to be handed again by a queueStarted)
	stopping bool   // no new grants once the tracker is stopping

	// The durable queue (window.go): writes wait in pending while one is in flight; the
	// window is filled from the entries after cursor, one page read at a time.
	stored int // queued entries in the durable queue, as of the last write
	// memQueued counts the window's items that live in memory only; puts counts the puts
	// waiting or in flight (so stored is about to grow): memory first needs both at zero
	// backlog, or FIFO order would break.
	memQueued int
	puts      int
	pending   writeBatch
	writing   bool
	closed    bool // the writer is closed (stopped or restarting): nothing more is written
	inflight  *writeBatch
	writeq    chan *writeBatch
	// writerDone is closed when the writer goroutine ends (nil: none was started).
	writerDone chan struct{}
	cursor     uint64
	paging     bool
	// evictedWhilePaging holds, for CIDs whose queued entry a QueueDel or QueueFail removed
	// during the page read in flight, that entry's seq: the page may still show it (read
	// before the delete committed); a later entry of the CID has a higher seq.
	evictedWhilePaging map[string]uint64
	// unpinWhilePaging holds CIDs whose latest put, which may land after the page read in
	// flight began, is a single unpin: the page may hold an older copy of their entries
	// (pagerace.go).
	unpinWhilePaging map[string]struct{}
	exhausted        bool   // the last page reached the end of the queue; cleared by puts
	epoch            uint64 // counts puts, so a page read knows whether one landed meanwhile
	// needRoom is the room the batch entry at the cursor needs (0: none waits): no page is
	// read before the window has it.
	needRoom int
	batch    []persistence.BatchItem // CIDs for the next batch entry (batch.go)
	// batchLive counts, per batch entry paged in, its items still in the window.
	batchLive map[uint64]int
}

func newTrackerActor(system *actor.ActorSystem, self peer.ID, cfg Config, backend ipfs.Backend, queue Queue, logger *slog.Logger, ops *sync.WaitGroup, queueLen *atomic.Int64) *trackerActor {
	return &trackerActor{
		system: system, peer: self, cfg: cfg, backend: backend, queue: queue, logger: logger, ops: ops, queueLen: queueLen,
		stored:             queue.QueueLen(),
		items:              map[string]*item{},
		evictedWhilePaging: map[string]uint64{},
		unpinWhilePaging:   map[string]struct{}{},
		batchLive:          map[uint64]int{},
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
		a.spawnQueues(ctx)
		if a.resync != nil {
			ctx.Send(a.resync, messages.StateSyncWanted{})
		}
	case *actor.Stopped:
		a.closeWriter()
	case *actor.Stopping:
		a.onStopping(ctx)
	case *actor.Restarting:
		// The fresh instance rebuilds from the durable queue: this one starts nothing more.
		a.onStopping(ctx)
		a.closeWriter()
		a.awaitWriter()
	case *actor.Terminated:
		// a queue actor, stopped with the tracker
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
	case expectPin:
		a.onExpect(msg)
	case statusQuery:
		a.onStatus(ctx, msg)
	case listQuery:
		a.onList(ctx, msg.writing)
	case summaryQuery:
		a.onSummary(ctx)
	case recoverPin:
		a.onRecover(ctx, msg)
	case messages.RecoverAllPins:
		a.onRecoverAll(ctx)
	case queueWritten:
		a.onQueueWritten(ctx, msg)
	case queuePaged:
		a.onQueuePaged(ctx, msg)
	case queueStarted:
		a.onQueueStarted(msg)
	case slotsTaken:
		a.onSlotsTaken(msg)
	case attemptStarted:
		a.onAttemptStarted(msg)
	case attemptFailed:
		a.onAttemptFailed(ctx, msg)
	case runEnded:
		a.onRunEnded(ctx, msg)
	case demotionDue:
		a.onDemotionDue(msg)
	default:
		a.logger.Warn("tracker: unknown message", "type", fmt.Sprintf("%T", msg))
	}
	a.page(ctx)
	a.flushQueues(ctx)
	a.dispatch(ctx)
	a.flushWrites(ctx)
	a.publishLen()
	a.sendChanges()
}

func (a *trackerActor) setPhase(it *item, p phase) {
	it.phase = p
	it.gen++
	it.ts = time.Now()
	a.noteChange(it)
}

// full refuses a new item beyond max_pin_queue_size, counted on the durable queue and the
// window's items that live in memory only.
func (a *trackerActor) full() error {
	if a.stored+a.memQueued >= a.cfg.MaxPinQueueSize {
		return queueFull(a.cfg.MaxPinQueueSize)
	}
	return nil
}

// enqueue queues it for the priority or normal queue actor: handed to it at once, or once its
// current hand-off (queued or running with its previous operation) is withdrawn and drained.
func (a *trackerActor) enqueue(ctx actor.Context, it *item, priority bool) {
	a.setPhase(it, phaseQueued)
	it.priority = priority
	if a.withdraw(ctx, it) {
		a.hand(it)
	}
}

// switchOp turns it into an operation of kind op with a fresh attempt count, withdrawing what
// is queued or runs, and queues it.
func (a *trackerActor) switchOp(ctx actor.Context, it *item, op opKind, now time.Time) {
	if it.op != op {
		it.attempts, it.err = 0, ""
	}
	it.op, it.express = op, false // the jump was for the pin of a pushed root, not for its switch
	// A failed item's entry is in the failed set: the put moves it back (memory only would
	// leave it there to show pin_error once the item leaves the window).
	durable := it.durable || it.phase == phaseFailed
	a.enqueue(ctx, it, usePriorityQueue(it.attempts, it.created, now, a.cfg))
	if durable {
		a.put(it.cid, op == opUnpin, it.mode, it.created, writeTag{it: it})
	}
	a.answerWaiters(ctx, it, it.short())
}

// track queues a pin (or switches an in-flight unpin back to a pin). A CID outside the window
// is only put in the durable queue (refused there when it is full): ack is answered once
// that is durable, and the window pages it in when its turn comes.
func (a *trackerActor) track(ctx actor.Context, pin api.Pin, ack *pendingAck) {
	it := a.items[pin.Cid.KeyString()]
	if it == nil && a.full() == nil && a.takeExpected(pin.Cid) {
		a.admitExpress(ctx, pin, ack)
		return
	}
	if it == nil {
		if !a.admitInMemory(ctx, pin.Cid, opPin, pin.Mode, pin.Timestamp) {
			a.putNew(pin.Cid, false, pin.Mode, pin.Timestamp, ack)
		}
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
		if !a.admitInMemory(ctx, c, opUnpin, api.PinModeRecursive, time.Time{}) {
			a.putNew(c, true, api.PinModeRecursive, time.Time{}, ack)
		}
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

func (a *trackerActor) onList(ctx actor.Context, writing bool) {
	var r listReply
	r.items = make([]inFlightItem, 0, len(a.items))
	for _, it := range a.items {
		if it.phase == phaseSettling {
			r.skip = append(r.skip, it.cid)
			continue
		}
		r.items = append(r.items, inFlightItem{cid: it.cid, info: it.short()})
	}
	for _, b := range []*writeBatch{&a.pending, a.inflight} {
		if b == nil || !writing { // only TrackedSet asks: a status listing would drop them
			continue
		}
		for _, op := range b.ops {
			switch op.Kind {
			case persistence.QueuePut:
				r.writing = append(r.writing, op.Entry.Cid)
			case persistence.QueuePutBatch:
				for _, it := range op.Entry.Batch {
					r.writing = append(r.writing, it.Cid)
				}
			}
		}
	}
	r.slots = a.taken()
	ctx.Respond(r)
}

// onRecover re-queues an item that gave up in the priority queue, restarts at once one that
// waits for its backoff (or queues a pin of an unexpectedly unpinned CID), and answers when
// that attempt ends.
func (a *trackerActor) onRecover(ctx actor.Context, msg recoverPin) {
	k := msg.pin.Cid.KeyString()
	it := a.items[k]
	switch {
	case msg.unpin && it != nil && it.op != opUnpin:
		// The CID is pinned again: nothing to retry.
		ctx.Respond(messages.RecoverPinResponse{Info: it.short()})
		return
	case msg.unpin && it == nil:
		// Out of the window, the failed unpin is only in the durable queue, and the caller's
		// copy of its entry may be stale (the CID pinned again since, or the item just gave
		// up): rather than make an item of it, the queue's writer moves its failed entry back
		// to the queue if it is still a failed unpin when it runs, in order with the writes
		// before it. The answer does not wait for the attempt.
		a.write(persistence.QueueOp{Kind: persistence.QueueRequeueOne, Entry: persistence.QueueEntry{Cid: msg.pin.Cid, Unpin: true}}, writeTag{})
		ctx.Respond(messages.RecoverPinResponse{Info: api.PinInfoShort{Status: api.TrackerStatusUnpinQueued}})
		return
	}
	if it == nil {
		// Out of the window: recovered at once, beyond the window if need be (an operator's
		// request), and queued durably (a failed entry keeps its attempts).
		if err := a.full(); err != nil && msg.failed == nil {
			ctx.Respond(messages.RecoverPinResponse{Err: err})
			return
		}
		// durable: its put is queued below (write counts an item that was not as leaving memQueued).
		it = &item{cid: msg.pin.Cid, mode: msg.pin.Mode, created: msg.pin.Timestamp, op: opPin, durable: true}
		if f := msg.failed; f != nil {
			it.attempts, it.err = f.Attempts, f.Err
			if f.Unpin {
				it.op = opUnpin
			}
		}
		a.items[k] = it
		a.enqueue(ctx, it, true)
		a.put(it.cid, it.op == opUnpin, it.mode, it.created, writeTag{it: it})
	} else if it.phase == phaseFailed || it.phase == phaseSettling {
		a.enqueue(ctx, it, true)
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
			a.enqueue(ctx, it, usePriorityQueue(it.attempts, it.created, now, a.cfg))
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
