package tracker

import (
	"cmp"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// queueRef is the tracker's side of its conversation with one queue actor.
type queueRef struct {
	pid     *actor.PID
	epoch   int     // the live instance's incarnation; 0 until it said queueStarted
	waiting int     // items handed to it and not started
	offered int     // slots granted to it and not answered yet
	running int     // items it started: each holds a slot until its runEnded
	out     []qitem // handed during this message, sent at its end in one queueItems
}

// taken counts the slots of the pool that are offered to a queue actor or hold a run.
func (a *trackerActor) taken() int {
	n := 0
	for k := range a.queues {
		n += a.queues[k].offered + a.queues[k].running
	}
	return n
}

// hand gives the item to the queue actor of its queue choice (at its FIFO's tail).
func (a *trackerActor) hand(it *item) {
	k := kindOf(it)
	r := &a.queues[k]
	a.tickets++
	it.ticket, it.q, it.running = a.tickets, k, false
	r.waiting++
	r.out = append(r.out, qitem{ticket: it.ticket, cid: it.cid, created: it.created, attempts: it.attempts, mode: it.mode, op: it.op})
}

// withdraw cancels the item's hand-off and reports whether the item is free to be handed
// again now: when it was handed during this message and not sent yet, it is taken back at
// once; otherwise it drains (cancelRun, then runEnded) first.
func (a *trackerActor) withdraw(ctx actor.Context, it *item) bool {
	if it.ticket == 0 {
		return true
	}
	if it.draining {
		return false
	}
	r := &a.queues[it.q]
	if !it.running {
		r.waiting--
	}
	if it.ticket > a.flushed {
		r.out = slices.DeleteFunc(r.out, func(q qitem) bool { return q.ticket == it.ticket })
		it.ticket = 0
		return true
	}
	it.draining = true
	if r.epoch != 0 {
		ctx.Send(r.pid, cancelRun{epoch: r.epoch, runRef: runRef{key: it.cid.KeyString(), ticket: it.ticket}})
	}
	return false
}

// flushQueues sends each queue actor what was handed to it during this message.
func (a *trackerActor) flushQueues(ctx actor.Context) {
	a.flushed = a.tickets
	for k := range a.queues {
		r := &a.queues[k]
		if r.epoch == 0 || len(r.out) == 0 {
			continue // not started yet: queueStarted hands it everything
		}
		ctx.Send(r.pid, queueItems{epoch: r.epoch, items: r.out})
		r.out = nil
	}
}

// dispatch grants the free slots of the pool, express queue actor first, then priority, never
// more than it has items waiting for: the pool holds at most concurrent_pins grants and runs
// in all, and the express queue expressSlots more (express.go).
func (a *trackerActor) dispatch(ctx actor.Context) {
	if a.stopping {
		return
	}
	free := a.cfg.ConcurrentPins - a.taken()
	for k := range a.queues {
		r := &a.queues[k]
		room := free
		if queueKind(k) == queueExpress {
			room += expressSlots
		}
		n := min(room, r.waiting-r.offered)
		if r.epoch == 0 || n <= 0 {
			continue
		}
		ctx.Send(r.pid, slotGrant{epoch: r.epoch, n: n})
		r.offered += n
		free -= n
	}
}

// onQueueStarted takes back what a crashed instance held (its cid actors were stopped before
// the fresh one started) and hands the fresh one every item it had: queued, running or
// retrying ones (queued again, their attempts kept), in queue order.
func (a *trackerActor) onQueueStarted(m queueStarted) {
	r := &a.queues[m.kind]
	restart := r.epoch != 0
	r.epoch, r.waiting, r.offered, r.running, r.out = m.epoch, 0, 0, 0, nil
	if a.stopping {
		return
	}
	var held []*item
	for _, it := range a.items {
		if it.ticket != 0 && it.q == m.kind {
			held = append(held, it)
		}
	}
	if restart {
		a.logger.Warn("tracker: queue actor restarted; handing it its items again", "queue", m.kind.String(), "items", len(held))
	}
	// Hand order is queue order: tickets grow with every hand-off (memory-only items have no
	// seq to sort by).
	slices.SortFunc(held, func(x, y *item) int { return cmp.Compare(x.ticket, y.ticket) })
	for _, it := range held {
		it.ticket, it.running = 0, false
		if it.draining {
			it.draining = false
			if it.phase == phaseQueued {
				a.hand(it)
			}
			continue
		}
		switch it.phase {
		case phaseRunning, phaseRetrying:
			a.setPhase(it, phaseQueued)
			a.hand(it)
		case phaseQueued:
			a.hand(it)
		} // failed or settling: its run ended with the instance
	}
}

// current is the item of a report about its current hand-off, or nil for a stale report.
func (a *trackerActor) current(kind queueKind, epoch int, ref runRef) *item {
	if epoch != a.queues[kind].epoch {
		return nil
	}
	it := a.items[ref.key]
	if it == nil || it.ticket != ref.ticket {
		return nil
	}
	return it
}

func (a *trackerActor) onSlotsTaken(m slotsTaken) {
	r := &a.queues[m.kind]
	if m.epoch != r.epoch {
		return
	}
	r.offered -= len(m.started) + m.unused
	for _, s := range m.started {
		a.started(m.kind, s)
	}
}

// started records an item the queue actor kind started: it holds a slot until its runEnded.
func (a *trackerActor) started(kind queueKind, s runRef) {
	r := &a.queues[kind]
	r.running++
	it := a.current(kind, r.epoch, s)
	if it == nil || it.running {
		return
	}
	it.running = true
	if it.draining {
		return // withdrawn meanwhile: no longer counted as waiting; it drains
	}
	r.waiting--
	a.setPhase(it, phaseRunning)
	it.priority = kind != queueNormal
	it.express = false // one jump: a retry handed again queues by the priority rules
}

func (a *trackerActor) onAttemptStarted(m attemptStarted) {
	if it := a.current(m.kind, m.epoch, m.runRef); it != nil && !it.draining && it.phase == phaseRetrying {
		a.setPhase(it, phaseRunning)
	}
}

// onAttemptFailed records a failed attempt: the item shows pin_error/unpin_error with the error
// and the attempt count, and every Recover waiting on it is answered.
func (a *trackerActor) onAttemptFailed(ctx actor.Context, m attemptFailed) {
	it := a.current(m.kind, m.epoch, m.runRef)
	if it == nil || it.draining {
		return
	}
	it.attempts, it.err = m.attempts, m.err
	a.setPhase(it, phaseRetrying)
	if m.next == stepDemote {
		// Out of the express queue, the queue rules decide; out of the priority queue, normal.
		it.priority = m.kind == queueExpress && usePriorityQueue(it.attempts, it.created, time.Now(), a.cfg)
	}
	a.answerWaiters(ctx, it, it.short())
	if m.next == stepGiveUp {
		a.giveUp(it)
	}
}

// onRunEnded frees the slot of a run and moves its item on by the outcome.
func (a *trackerActor) onRunEnded(ctx actor.Context, m runEnded) {
	r := &a.queues[m.kind]
	if m.epoch != r.epoch {
		return
	}
	if m.outcome != outDropped {
		r.running-- // it was started: its slot is free (or handed over)
	}
	if m.handedOver {
		a.started(m.kind, m.next)
	}
	it := a.current(m.kind, m.epoch, m.runRef)
	if it == nil {
		return
	}
	if !it.running && !it.draining {
		r.waiting-- // not withdrawn, yet never started (should not happen)
	}
	it.ticket, it.running = 0, false
	if a.stopping {
		return
	}
	if it.draining {
		// Withdrawn (its operation changed): the next operation starts now that this one
		// has drained, so a pin and an unpin of one CID never overlap.
		it.draining = false
		if it.phase == phaseQueued {
			a.hand(it)
		}
		return
	}
	switch m.outcome {
	case outDone:
		a.settle(ctx, it)
	case outDemoted:
		it.retrySeq++
		timer.After(ctx, retryBackoff(it.attempts, a.cfg), demotionDue{key: m.key, seq: it.retrySeq})
	case outGaveUp:
		// recorded by its attemptFailed
	default:
		if it.phase == phaseRunning || it.phase == phaseRetrying {
			it.err = "operation stopped unexpectedly"
			a.giveUp(it)
			a.answerWaiters(ctx, it, it.short())
		}
	}
}

// onDemotionDue hands a demoted item to the normal queue actor once its backoff ended.
func (a *trackerActor) onDemotionDue(m demotionDue) {
	if it := a.items[m.key]; it != nil && it.retrySeq == m.seq && it.phase == phaseRetrying && it.ticket == 0 {
		a.hand(it)
	}
}

// restartNow ends the backoff of a retrying item: its cid actor restarts at once, or a demoted
// item is handed to the normal queue actor at once. It reports whether it did.
func (a *trackerActor) restartNow(ctx actor.Context, it *item) bool {
	if it.phase != phaseRetrying || it.draining {
		return false
	}
	if it.ticket == 0 {
		it.retrySeq++
		a.hand(it)
		return true
	}
	r := &a.queues[it.q]
	if !it.running || r.epoch == 0 {
		return false // handed, waiting for a slot: nothing to end
	}
	ctx.Send(r.pid, retryNow{epoch: r.epoch, ticket: it.ticket})
	return true
}

// settle: a pinned or unpinned CID is settling until its durable entry is gone; then it leaves
// the window.
func (a *trackerActor) settle(ctx actor.Context, it *item) {
	status := api.TrackerStatusPinned
	if it.op == opUnpin {
		status = api.TrackerStatusUnpinned
	}
	a.answerWaiters(ctx, it, api.PinInfoShort{Status: status, TS: time.Now(), PriorityPin: it.priority})
	a.setPhase(it, phaseSettling)
	a.write(persistence.QueueOp{Kind: persistence.QueueDel, Entry: persistence.QueueEntry{Cid: it.cid}}, writeTag{it: it, gen: it.gen})
}

// giveUp records a failed item in the durable failed set; it leaves the window once written.
func (a *trackerActor) giveUp(it *item) {
	a.setPhase(it, phaseFailed)
	a.write(persistence.QueueOp{Kind: persistence.QueueFail, Entry: entryOf(it)}, writeTag{it: it, gen: it.gen})
}

// answerWaiters tells every Recover waiting on the item how its attempt ended.
func (a *trackerActor) answerWaiters(ctx actor.Context, it *item, info api.PinInfoShort) {
	for _, w := range it.waiters {
		ctx.Send(w, messages.RecoverPinResponse{Info: info})
	}
	it.waiters = nil
}
