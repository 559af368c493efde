package tracker

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// ErrStopped: the tracker was stopped while the request waited.
var ErrStopped = fmt.Errorf("%w: the pin tracker is stopped", api.ErrUnavailable)

// maxQueueRestarts bounds the restarts of a queue actor within a minute; past it the failure
// is escalated (the tracker restarts, rebuilding everything from the durable queue).
const maxQueueRestarts = 10

// spawnQueues spawns the queue actors (queue:express, queue:priority and queue:normal). Each instance
// knows its incarnation number, the epoch of its conversation with the tracker; the counter is
// only touched by the producer, which runs in that child's mailbox.
func (a *trackerActor) spawnQueues(ctx actor.Context) {
	for k := queueKind(0); k < numQueues; k++ {
		k, incarnations := k, 0
		cfg, backend, ops, logger := a.cfg, a.backend, a.ops, a.logger
		props := actor.PropsFromProducer(func() actor.Actor {
			incarnations++
			return newQueueActor(k, incarnations, cfg, backend, ops, logger)
		})
		pid, err := ctx.SpawnNamed(props, "queue:"+k.String())
		if err != nil {
			panic(fmt.Sprintf("tracker: spawn the %s queue actor: %v", k, err))
		}
		a.queues[k].pid = pid
	}
}

// HandleFailure is the supervision of the queue actors, in the tracker's mailbox: a crashed
// queue actor restarts at once as a fresh, empty instance (its cid actors are stopped first);
// its queueStarted makes the tracker take its slots back and hand it again every item it held,
// so nothing it was given is lost. Past maxQueueRestarts in a minute the failure is escalated.
func (a *trackerActor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, msg interface{}) {
	rs.Fail()
	if n := rs.NumberOfFailures(time.Minute); n > maxQueueRestarts {
		a.logger.Error("tracker: a queue actor keeps crashing; restarting the tracker", "queue", child.Id, "failures", n, "reason", reason)
		sup.EscalateFailure(reason, msg)
		return
	}
	a.logger.Warn("tracker: queue actor crashed; restarting it", "queue", child.Id, "reason", reason)
	sup.RestartChildren(child)
}

// onStopping stops dispatching and answers every request still waiting.
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
