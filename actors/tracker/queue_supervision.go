package tracker

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/messages"
)

// HandleFailure is the supervision of the cid actors of a queue actor, in its mailbox: a failed
// attempt is counted in the run and reported to the tracker (attemptFailed: the item shows
// pin_error/unpin_error with the error and the attempt count); then by nextStep the cid actor
// restarts after an exponential backoff in the same slot (RetryBackoffMin doubling up to
// RetryBackoffMax, a scheduled retryDue), or it is stopped and the item leaves the queue:
// demoted (the tracker hands it to the normal queue actor after the backoff) or given up (in
// error until Recover or RecoverAll).
func (a *queueActor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ interface{}) {
	r := a.owner(child)
	if r == nil || r.cancelled || r.ending != outLost || a.stopping {
		sup.StopChildren(child)
		return
	}
	ctx, ok := sup.(actor.Context)
	if !ok {
		panic(fmt.Sprintf("tracker queue: supervisor %T is not an actor context", sup))
	}
	r.it.attempts++
	errText := failureText(reason)
	next := nextStep(r.it.attempts, r.it.created, a.kind != queueNormal, time.Now(), a.cfg)
	if a.kind == queueExpress && next == stepRetry {
		next = stepDemote // its blocks were not all there: it leaves the express slot (express.go)
	}
	a.logger.Info("tracker: attempt failed", "cid", r.it.cid.String(), "attempts", r.it.attempts, "error", errText)
	ctx.Send(a.parent, attemptFailed{kind: a.kind, epoch: a.epoch, attempts: r.it.attempts, err: errText, next: next, runRef: a.ref(r)})
	switch next {
	case stepRetry:
		r.retrying = true
		r.incarnation++
		r.retrySeq++
		timer.After(ctx, retryBackoff(r.it.attempts, a.cfg), retryDue{ticket: r.it.ticket, seq: r.retrySeq})
	case stepDemote:
		r.ending = outDemoted
		sup.StopChildren(child)
	default:
		r.ending = outGaveUp
		sup.StopChildren(child)
	}
}

// onRetryDue restarts the cid actor whose backoff ended, unless it moved on meanwhile.
func (a *queueActor) onRetryDue(ctx actor.Context, m retryDue) {
	if r := a.run(m.ticket); r != nil && r.retrySeq == m.seq {
		a.restartNow(ctx, r)
	}
}

// onRetryNow ends a backoff at once (Recover, RecoverAll).
func (a *queueActor) onRetryNow(ctx actor.Context, m retryNow) {
	if m.epoch != a.epoch {
		return
	}
	if r := a.run(m.ticket); r != nil {
		a.restartNow(ctx, r)
	}
}

// restartNow restarts a retrying cid actor (a new attempt); pending retryDue become stale.
func (a *queueActor) restartNow(ctx actor.Context, r *run) {
	if !r.retrying || r.cancelled || r.ending != outLost || a.stopping {
		return
	}
	r.retrySeq++
	sup, ok := ctx.(actor.Supervisor)
	if !ok {
		panic(fmt.Sprintf("tracker queue: context %T cannot restart children", ctx))
	}
	sup.RestartChildren(r.pid)
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
