package tracker

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// ErrStopped: the tracker was stopped while the request waited.
var ErrStopped = fmt.Errorf("%w: the pin tracker is stopped", api.ErrUnavailable)

// start spawns the cid actor of it in a free slot. The actor's Props capture everything it
// needs, so a supervised restart re-runs the same operation; the attempt count stays in it.
func (a *trackerActor) start(ctx actor.Context, it *item, priority bool) {
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
		panic(fmt.Sprintf("tracker: spawn cid actor for %s: %v", it.cid, err))
	}
	a.setPhase(it, phaseRunning)
	it.priority = priority
	it.pid = pid
	it.incarnation = 1
	a.byPID[pid.Id] = it.cid.KeyString()
	a.active++
}

// owner returns the item whose current, non-draining cid actor is pid.
func (a *trackerActor) owner(pid *actor.PID) *item {
	if pid == nil {
		return nil
	}
	k, ok := a.byPID[pid.Id]
	if !ok {
		return nil
	}
	it := a.items[k]
	if it == nil || it.pid == nil || it.pid.Id != pid.Id || it.draining {
		return nil
	}
	return it
}

func (a *trackerActor) onOperationStarted(ctx actor.Context, msg messages.OperationStarted) {
	if it := a.owner(ctx.Sender()); it != nil && it.phase == phaseRetrying && msg.Incarnation == it.incarnation {
		a.setPhase(it, phaseRunning)
	}
}

// onCompleted settles the item: a pinned or unpinned CID has no item (and soon no actor).
func (a *trackerActor) onCompleted(ctx actor.Context, c api.Cid, op opKind) {
	if s := ctx.Sender(); s != nil {
		if _, ok := a.byPID[s.Id]; ok {
			ctx.Stop(s)
		}
	}
	it := a.owner(ctx.Sender())
	if it == nil || it.op != op {
		return
	}
	status := api.TrackerStatusPinned
	if op == opUnpin {
		status = api.TrackerStatusUnpinned
	}
	a.answerWaiters(ctx, c, api.PinInfoShort{Status: status, TS: time.Now(), PriorityPin: it.priority})
	// Settling until its durable entry is gone; then it leaves the window.
	a.setPhase(it, phaseSettling)
	a.write(persistence.QueueOp{Kind: persistence.QueueDel, Entry: persistence.QueueEntry{Cid: it.cid}}, writeTag{it: it, gen: it.gen})
}

// giveUp records a failed item in the durable failed set; it leaves the window once written.
func (a *trackerActor) giveUp(it *item) {
	a.setPhase(it, phaseFailed)
	a.write(persistence.QueueOp{Kind: persistence.QueueFail, Entry: entryOf(it)}, writeTag{it: it, gen: it.gen})
}

// onTerminated frees the slot of a cid actor and requeues an item that was waiting for it to
// drain.
func (a *trackerActor) onTerminated(ctx actor.Context, msg *actor.Terminated) {
	k, ok := a.byPID[msg.Who.Id]
	if !ok {
		return
	}
	delete(a.byPID, msg.Who.Id)
	a.active--
	it := a.items[k]
	if it == nil || it.pid == nil || it.pid.Id != msg.Who.Id {
		return
	}
	it.pid = nil
	if a.stopping {
		return // stopped with the tracker: still queued in the durable queue
	}
	if it.draining {
		it.draining = false
		if it.phase == phaseQueued {
			a.enqueue(it, it.priority)
		}
		return
	}
	if it.phase == phaseRunning || it.phase == phaseRetrying {
		// Stopped without reporting (should not happen): keep it visible as failed.
		it.err = "operation stopped unexpectedly"
		a.giveUp(it)
		a.answerWaiters(ctx, it.cid, it.short())
	}
}

// retryDue is the scheduled message that ends the backoff of a failed attempt. seq matches
// the item's retrySeq unless the item was restarted (Recover) or moved on meanwhile.
type retryDue struct {
	key string
	seq uint64
}

// HandleFailure is the supervision of cid actors: a failed attempt is counted in the table and
// the item shows pin_error/unpin_error with the error; the actor restarts after an exponential
// backoff (RetryBackoffMin doubling up to RetryBackoffMax, a retryDue scheduled to the
// tracker) until PriorityPinMaxRetries attempts, then it is stopped and the item stays in
// error, downgraded to the normal queue, until Recover or RecoverAll. It runs in the tracker's
// mailbox.
func (a *trackerActor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ interface{}) {
	it := a.owner(child)
	if it == nil {
		sup.StopChildren(child)
		return
	}
	it.attempts++
	it.err = failureText(reason)
	a.setPhase(it, phaseRetrying)
	a.logger.Info("tracker: attempt failed", "cid", it.cid.String(), "attempts", it.attempts, "error", it.err)
	for _, w := range it.waiters {
		a.send(w, messages.RecoverPinResponse{Info: it.short()})
	}
	it.waiters = nil
	if !shouldRetry(it.attempts, a.cfg) {
		a.giveUp(it)
		sup.StopChildren(child)
		return
	}
	it.incarnation++
	it.retrySeq++
	due := retryDue{key: it.cid.KeyString(), seq: it.retrySeq}
	self, system := a.self, a.system
	time.AfterFunc(retryBackoff(it.attempts, a.cfg), func() { system.Root.Send(self, due) })
}

// onRetryDue restarts the cid actor whose backoff ended, unless it moved on meanwhile.
func (a *trackerActor) onRetryDue(ctx actor.Context, msg retryDue) {
	if it := a.items[msg.key]; it != nil && it.retrySeq == msg.seq {
		a.restartNow(ctx, it)
	}
}

// restartNow ends the backoff of a retrying item: its cid actor restarts (a new attempt) at
// once. Pending retryDue messages become stale. It reports whether it restarted one.
func (a *trackerActor) restartNow(ctx actor.Context, it *item) bool {
	if it.phase != phaseRetrying || it.pid == nil || it.draining {
		return false
	}
	it.retrySeq++
	sup, ok := ctx.(actor.Supervisor)
	if !ok {
		panic(fmt.Sprintf("tracker: context %T cannot restart children", ctx))
	}
	sup.RestartChildren(it.pid)
	return true
}

// send delivers from outside a Receive (HandleFailure has no actor.Context).
func (a *trackerActor) send(to *actor.PID, msg interface{}) {
	if a.system != nil {
		a.system.Root.Send(to, msg)
	}
}

func failureText(reason interface{}) string {
	var err error
	switch r := reason.(type) {
	case messages.PinFailed:
		err = r.Err
	case messages.UnpinFailed:
		err = r.Err
	case error:
		err = r
	default:
		return fmt.Sprintf("panic: %v", r)
	}
	return err.Error()
}

// onStopping stops dispatching and answers every Recover still waiting.
func (a *trackerActor) onStopping(ctx actor.Context) {
	a.stopping = true
	for _, t := range append(a.pending.tags, a.inflightTags()...) {
		if t.ack != nil && t.ack.to != nil && t.ack.remaining > 0 {
			t.ack.remaining = 0
			if t.ack.all {
				ctx.Send(t.ack.to, recoverAllReply(t.ack.count))
			} else {
				ctx.Send(t.ack.to, trackerAck(ErrStopped))
			}
		}
	}
	for _, it := range a.items {
		for _, w := range it.waiters {
			ctx.Send(w, messages.RecoverPinResponse{Err: ErrStopped})
		}
		it.waiters = nil
	}
}
