package tracker

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/messages"
)

// queueActor is one of the tracker's queues (queue:express, queue:priority, queue:normal): it
// owns the FIFO of the items the tracker handed it, starts the oldest ones in the slots the
// tracker grants it, and is the parent and supervisor of their cid actors (it implements
// actor.SupervisorStrategy: a failed attempt is decided here, with the run at hand; see
// queue_supervision.go). It reports every outcome to the tracker, which owns the table, the
// durable queue and the slot pool.
//
// A fresh instance (a restart) is empty: it says queueStarted and the tracker hands it again
// what it held. Its state is therefore only what runs and what waits.
type queueActor struct {
	kind    queueKind
	epoch   int // this instance's incarnation number: the epoch of its conversation
	cfg     Config
	backend ipfs.Backend
	ops     *sync.WaitGroup
	logger  *slog.Logger

	parent   *actor.PID
	stopping bool // restarting or stopping: nothing more starts, nothing more is reported

	// The FIFO, in ticket order (the tracker numbers its hand-offs in the order it sends
	// them): a ticket is queued when it was received and not popped yet, and not dropped (a
	// cancelRun; dropped entries are skipped by pop). A queued item costs one compact entry.
	fifo     []qitem
	head     int
	received uint64 // the last ticket received
	popped   uint64 // the last ticket popped
	dropped  map[uint64]struct{}

	runs    []*run // the items started, each holding a slot: at most the slots granted
	spawned uint64
}

// run is an item started by the queue actor: its cid actor runs or waits for a retry.
type run struct {
	it          qitem
	pid         *actor.PID
	incarnation int // of the cid actor: 1, then +1 per restart
	retrySeq    uint64
	retrying    bool
	cancelled   bool
	ending      outcome // outDone, outGaveUp or outDemoted once decided; the actor is stopping
}

func newQueueActor(kind queueKind, epoch int, cfg Config, backend ipfs.Backend, ops *sync.WaitGroup, logger *slog.Logger) *queueActor {
	return &queueActor{
		kind: kind, epoch: epoch, cfg: cfg, backend: backend, ops: ops, logger: logger.With("queue", kind.String()),
		dropped: map[uint64]struct{}{},
	}
}

var _ actor.SupervisorStrategy = (*queueActor)(nil)

// queueFaultHook, when set (tests only), sees every message of the queue actors before it is
// handled; a panic there crashes the actor, to show that the tracker restarts it fresh and
// hands it its items again.
var queueFaultHook atomic.Pointer[func(queueKind, any)]

func (a *queueActor) Receive(ctx actor.Context) {
	if h := queueFaultHook.Load(); h != nil {
		(*h)(a.kind, ctx.Message())
	}
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.stopping = true // the cid actors are stopped with this instance
	case *actor.Stopped:
	case *actor.Terminated:
		a.onTerminated(ctx, msg)
	case queueItems:
		a.onItems(msg)
	case slotGrant:
		a.onGrant(ctx, msg)
	case cancelRun:
		a.onCancel(ctx, msg)
	case retryNow:
		a.onRetryNow(ctx, msg)
	case retryDue:
		a.onRetryDue(ctx, msg)
	case messages.OperationStarted:
		a.onOperationStarted(ctx, msg)
	case messages.PinCompleted:
		a.onCompleted(ctx, opPin)
	case messages.UnpinCompleted:
		a.onCompleted(ctx, opUnpin)
	default:
		a.logger.Warn("tracker queue: unknown message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *queueActor) onStarted(ctx actor.Context) {
	a.parent = ctx.Parent()
	ctx.Send(a.parent, queueStarted{kind: a.kind, epoch: a.epoch})
}

func (a *queueActor) onItems(m queueItems) {
	if m.epoch != a.epoch || a.stopping {
		return // for an earlier instance: the tracker hands this one its items again
	}
	for _, it := range m.items {
		if it.ticket <= a.received {
			panic(fmt.Sprintf("tracker queue: ticket %d received after %d", it.ticket, a.received))
		}
		a.received = it.ticket
		a.fifo = append(a.fifo, it)
	}
}

// onGrant starts up to n items, oldest first, and says which (and how many grants it could
// not use) to the tracker. It never runs more cid actors than it was granted slots.
func (a *queueActor) onGrant(ctx actor.Context, m slotGrant) {
	if m.epoch != a.epoch {
		return // granted to an earlier instance: the tracker took those slots back
	}
	started := make([]runRef, 0, m.n)
	for len(started) < m.n && !a.stopping {
		it, ok := a.pop()
		if !ok {
			break
		}
		a.start(ctx, it)
		started = append(started, runRef{key: it.cid.KeyString(), ticket: it.ticket})
	}
	ctx.Send(a.parent, slotsTaken{kind: a.kind, epoch: a.epoch, started: started, unused: m.n - len(started)})
}

// pop returns the oldest entry of the FIFO that was not dropped.
func (a *queueActor) pop() (qitem, bool) {
	for a.head < len(a.fifo) {
		e := a.fifo[a.head]
		a.fifo[a.head] = qitem{}
		a.head++
		a.popped = e.ticket
		if len(a.dropped) > 0 {
			if _, ok := a.dropped[e.ticket]; ok {
				delete(a.dropped, e.ticket)
				continue
			}
		}
		a.compact()
		return e, true
	}
	a.fifo, a.head = a.fifo[:0], 0
	return qitem{}, false
}

// isQueued reports whether ticket waits in the FIFO.
func (a *queueActor) isQueued(ticket uint64) bool {
	if ticket <= a.popped || ticket > a.received {
		return false
	}
	_, dropped := a.dropped[ticket]
	return !dropped
}

// compact reclaims the consumed head once it is most of the slice.
func (a *queueActor) compact() {
	if a.head > 1024 && a.head*2 > len(a.fifo) {
		n := copy(a.fifo, a.fifo[a.head:])
		clear(a.fifo[n:])
		a.fifo, a.head = a.fifo[:n], 0
	}
}

// start spawns the item's cid actor. Its Props capture everything it needs, so a supervised
// restart re-runs the same operation; the attempt count stays in the run.
func (a *queueActor) start(ctx actor.Context, it qitem) {
	ca := cidActor{cid: it.cid, mode: it.mode, op: it.op, cfg: a.cfg, backend: a.backend, ops: a.ops, logger: a.logger}
	incarnations := 0 // only touched by the producer, which runs in the child's mailbox
	props := actor.PropsFromProducer(func() actor.Actor {
		incarnations++
		c := ca
		c.incarnation = incarnations
		return &c
	})
	a.spawned++
	pid, err := ctx.SpawnNamed(props, fmt.Sprintf("cid:%s:%d", it.cid, a.spawned))
	if err != nil {
		// Names are unique per spawn; this is an invariant violation.
		panic(fmt.Sprintf("tracker queue: spawn cid actor for %s: %v", it.cid, err))
	}
	a.runs = append(a.runs, &run{it: it, pid: pid, incarnation: 1})
}

// owner is the run whose cid actor is pid (a scan: runs are at most the slots granted).
func (a *queueActor) owner(pid *actor.PID) *run {
	if pid == nil {
		return nil
	}
	for _, r := range a.runs {
		if r.pid.Id == pid.Id {
			return r
		}
	}
	return nil
}

// run is the run of ticket.
func (a *queueActor) run(ticket uint64) *run {
	for _, r := range a.runs {
		if r.it.ticket == ticket {
			return r
		}
	}
	return nil
}

func (a *queueActor) ref(r *run) runRef {
	return runRef{key: r.it.cid.KeyString(), ticket: r.it.ticket}
}

func (a *queueActor) onOperationStarted(ctx actor.Context, m messages.OperationStarted) {
	r := a.owner(ctx.Sender())
	if r == nil || !r.retrying || r.cancelled || r.ending != outLost || m.Incarnation != r.incarnation {
		return
	}
	r.retrying = false
	ctx.Send(a.parent, attemptStarted{kind: a.kind, epoch: a.epoch, runRef: a.ref(r)})
}

// onCompleted stops the cid actor that succeeded; the outcome is reported once it has
// terminated, with its slot (a Terminated must not overtake the result).
func (a *queueActor) onCompleted(ctx actor.Context, op opKind) {
	r := a.owner(ctx.Sender())
	if r == nil {
		return
	}
	ctx.Stop(r.pid)
	if r.ending == outLost && !r.cancelled && r.it.op == op {
		r.ending = outDone
	}
}

// onTerminated frees the slot of a cid actor: runEnded says how its run ended.
func (a *queueActor) onTerminated(ctx actor.Context, m *actor.Terminated) {
	i := slices.IndexFunc(a.runs, func(r *run) bool { return r.pid.Id == m.Who.Id })
	if i < 0 {
		return
	}
	r := a.runs[i]
	a.runs = slices.Delete(a.runs, i, i+1)
	if a.stopping {
		return // the tracker takes this instance's slots back when it restarts or stops
	}
	out := r.ending
	if r.cancelled {
		out = outCancelled
	}
	ended := runEnded{kind: a.kind, epoch: a.epoch, outcome: out, runRef: a.ref(r)}
	if a.kind != queueNormal {
		// The slot passes to the next item at once (see runEnded).
		if it, ok := a.pop(); ok {
			a.start(ctx, it)
			ended.handedOver, ended.next = true, runRef{key: it.cid.KeyString(), ticket: it.ticket}
		}
	}
	ctx.Send(a.parent, ended)
}

// onCancel withdraws a hand-off: out of the FIFO at once, or the run drains first.
func (a *queueActor) onCancel(ctx actor.Context, m cancelRun) {
	if m.epoch != a.epoch {
		return
	}
	if a.isQueued(m.ticket) {
		a.dropped[m.ticket] = struct{}{}
		ctx.Send(a.parent, runEnded{kind: a.kind, epoch: a.epoch, outcome: outDropped, runRef: m.runRef})
		return
	}
	r := a.run(m.ticket)
	if r == nil || r.cancelled {
		return // ended already: its runEnded is on its way
	}
	r.cancelled = true
	switch {
	case r.ending != outLost:
		// stopping already
	case r.retrying:
		ctx.Stop(r.pid) // suspended until its restart: nothing runs, stop at once
	default:
		ctx.Send(r.pid, messages.CancelOperation{})
	}
}
