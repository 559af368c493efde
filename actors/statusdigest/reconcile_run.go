package statusdigest

import (
	"errors"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	sd "github.com/pincluster/pincluster/statusdigest"
)

// A reconcile runs in a worker of its own and hands its writes to the actor one batch at a
// time (reconcileBatch), so the tracker's deltas keep being written between them: a reconcile
// waits for its turn at Deps.Passes (behind the healer's state sync) and for the IPFS node's
// listing, and it used to hold the writer all that time, leaving the own digest, and every
// replica of it, as it was for minutes while heartbeats announced it as current.
//
// The tracker's changes are newer than the reconcile's pass (a snapshot of the tracker taken
// when it began, whose CIDs its cursor meets later): the CIDs changed while a reconcile runs
// (during, at most maxBuffered) are taken out of its batches, so it never writes an older
// status over them, nor back an unpin that settled meanwhile (the since rule of
// persistence.WriteOwnDigest spares a newer entry, not one deleted). Beyond the bound a
// reconcile follows this one.

type (
	// reconcileRun names one reconcile: messages of an earlier one (an earlier instance's)
	// are ignored. Not zero-sized: Go may give every new zero-size value the same address.
	reconcileRun struct{ _ byte }
	// reconcileBatch: the reconcile's worker asks for a batch to be written; done gets the
	// writer's report (buffered: the actor never waits for the worker).
	reconcileBatch struct {
		run   *reconcileRun
		batch []sd.Entry
		since time.Time
		done  chan written
	}
	// reconciled: the reconcile's worker ended.
	reconciled struct {
		run  *reconcileRun
		kept int
		err  error
	}
)

var errStaleReconcile = errors.New("statusdigest: reconcile superseded")

// startReconcile starts a reconcile when one is due and none runs: at start, on a Resync tick
// that calls for one, and once changes dropped were written.
func (a *digestActor) startReconcile(ctx actor.Context) {
	if a.run != nil || !(a.resync || a.dropped && len(a.buf) == 0) {
		return
	}
	a.resync, a.dropped = false, false
	a.reconcileStarted()
	run := &reconcileRun{}
	a.run, a.during = run, map[string]struct{}{}
	self, system, deps, base, log := ctx.Self(), ctx.ActorSystem(), a.deps, a.ctx, a.log
	write := func(batch []sd.Entry, since time.Time) (uint64, error) {
		done := make(chan written, 1)
		system.Root.Send(self, reconcileBatch{run: run, batch: batch, since: since, done: done})
		select {
		case w := <-done:
			return w.seq, w.err
		case <-base.Done():
			return 0, base.Err()
		}
	}
	a.spawn(func() {
		kept, err := reconcile(base, deps, log, write)
		system.Root.Send(self, reconciled{run: run, kept: kept, err: err})
	})
}

func (a *digestActor) onReconcileBatch(ctx actor.Context, m reconcileBatch) {
	if m.run != a.run || a.run == nil {
		m.done <- written{err: errStaleReconcile}
		return
	}
	m.batch = slices.DeleteFunc(m.batch, func(e sd.Entry) bool { // the worker no longer reads it
		_, changed := a.during[string(e.Cid)]
		return changed
	})
	if len(m.batch) == 0 {
		m.done <- written{what: "reconcile"}
		return
	}
	a.pending = &m
	a.write(ctx)
}

// onReconciled ends a reconcile.
func (a *digestActor) onReconciled(ctx actor.Context, m reconciled) {
	if m.run != a.run {
		return
	}
	a.run, a.during = nil, nil
	a.again = a.again || m.err != nil || m.kept > 0
	if m.err != nil && a.ctx.Err() == nil {
		a.log.Warn("statusdigest: reconciling this peer's status digest", "err", m.err)
	}
	a.write(ctx)
}

// changedDuring notes a CID the tracker changed while a reconcile runs; beyond maxBuffered
// of them a reconcile follows this one instead.
func (a *digestActor) changedDuring(c []byte) {
	if a.run == nil {
		return
	}
	if len(a.during) >= maxBuffered {
		a.dropped = true
		return
	}
	a.during[string(c)] = struct{}{}
}
