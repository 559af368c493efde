package statusdigest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	sd "github.com/pincluster/pincluster/statusdigest"
)

const (
	// maxBuffered bounds the tracker changes waiting to be published; beyond it they are
	// dropped and a reconcile puts them back.
	maxBuffered = 1 << 16
	// publishTimeout bounds one publish.
	publishTimeout = 10 * time.Second
	// reconcileEvery is how many Resync ticks pass between two reconciles when nothing calls
	// for one sooner (see Config.Resync; dropped changes reconcile at once). Between them the
	// tracker's changes keep the own digest current. A reconcile is a local status pass over
	// the whole pinset: at 10M queued pins, 21 s of CPU every state_sync_interval for a
	// digest that was already right (profile of a quiet peer, 2026-12-03).
	reconcileEvery = 6
)

// Messages of the actor.
type (
	// received: a digest a trusted peer published (Digests.Received).
	received struct {
		from peer.ID
		d    sd.Digest
	}
	flushDue     struct{}
	heartbeatDue struct{}
	resyncDue    struct{}
	// written is the own-digest writer's report (a delta, or a reconcile's batch): seq is
	// the version it published (0: none).
	written struct {
		what string
		seq  uint64
		err  error
		lost bool // changes were not stored: a reconcile puts them back
		// done is the reconcile's worker waiting for its batch (nil: a delta)
		done chan written
	}
	// beaten is the heartbeat worker's report: vv is the version vector it announced (nil:
	// none).
	beaten struct {
		seq uint64
		vv  crdt.VersionVector
		err error
	}
)

type digestActor struct {
	deps Deps
	log  *slog.Logger

	buf        []sd.Entry // tracker changes not yet written
	dropped    bool       // some were dropped: reconcile soon
	flushTimer *time.Timer
	flushReady bool // FlushEvery passed since the oldest buffered change
	writing    bool // the own-digest writer runs
	resync     bool // a reconcile is due once none runs
	// run is the reconcile running (nil: none), pending its batch waiting for the writer,
	// during the CIDs the tracker changed since it started (reconcile_run.go)
	run       *reconcileRun
	pending   *reconcileBatch
	during    map[string]struct{}
	ticks     int    // Resync ticks since the last reconcile
	again     bool   // the last reconcile did not settle everything: the next tick reconciles
	unnoted   uint64 // Deps.Unnoted when the last reconcile started
	beating   bool   // a heartbeat is being published
	published uint64 // the last version published (0: not known yet)
	// announced is the version vector the last heartbeat announced (nil: none since the
	// start, so the next one announces it whole).
	announced crdt.VersionVector

	rep replicas

	timers  []*time.Timer
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup
}

// spawn runs fn as a worker; a stopping instance waits for its workers (they end with its
// context), so none touches the store after the peer closes it.
func (a *digestActor) spawn(fn func()) {
	a.workers.Add(1)
	go func() {
		defer a.workers.Done()
		fn()
	}()
}

func newActor(deps Deps, log *slog.Logger) *digestActor {
	return &digestActor{deps: deps, log: log, rep: newReplicas(deps.Config)}
}

func (a *digestActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.onStop()
	case *actor.Stopped:
	case messages.PeerRemoved:
		a.onPeerRemoved(ctx, m)
	case messages.TrackerStatusChanged:
		a.onChanges(ctx, m)
	case flushDue:
		a.flushTimer, a.flushReady = nil, true
		a.write(ctx)
	case heartbeatDue:
		a.timers = append(a.timers, timer.After(ctx, a.deps.Config.Heartbeat, heartbeatDue{}))
		a.beat(ctx)
	case beaten:
		a.beating = false
		a.published = max(a.published, m.seq)
		if m.err == nil && m.vv != nil {
			a.announced = m.vv
		}
		if m.err != nil && a.ctx.Err() == nil {
			a.log.Debug("statusdigest: publishing a heartbeat", "err", m.err)
		}
	case resyncDue:
		a.timers = append(a.timers, timer.After(ctx, a.deps.Config.Resync, resyncDue{}))
		if a.resyncTick() {
			a.resync = true
			a.write(ctx)
		}
	case written:
		a.onWritten(ctx, m)
	case reconcileBatch:
		a.onReconcileBatch(ctx, m)
	case reconciled:
		a.onReconciled(ctx, m)
	case *messages.StatusDigestPullRequest:
		a.onPullRequest(ctx, m)
	case received:
		a.onReceived(ctx, m)
	case applied:
		a.onApplied(ctx, m)
	case pulled:
		a.onPulled(ctx, m)
	default:
		a.log.Warn("statusdigest: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

func (a *digestActor) onStarted(ctx actor.Context) {
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.timers = append(a.timers, timer.After(ctx, a.deps.Config.Heartbeat, heartbeatDue{}),
		timer.After(ctx, a.deps.Config.Resync, resyncDue{}))
	a.resync = true // what settled while this instance was not running
	a.write(ctx)
}

func (a *digestActor) onStop() {
	for _, t := range a.timers {
		t.Stop()
	}
	if a.flushTimer != nil {
		a.flushTimer.Stop()
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.workers.Wait()
}

// resyncTick counts a Resync tick and reports whether it starts a reconcile.
func (a *digestActor) resyncTick() bool {
	a.ticks++
	// dropped: changes were dropped (buffer full); under the load that dropped them the buffer
	// is seldom empty, which is when write starts the reconcile that puts them back.
	return a.ticks >= reconcileEvery || a.again || a.dropped || a.unnotedNow() != a.unnoted
}

// reconcileStarted starts the count to the next reconcile.
func (a *digestActor) reconcileStarted() {
	a.ticks, a.again, a.dropped, a.unnoted = 0, false, false, a.unnotedNow()
}

func (a *digestActor) unnotedNow() uint64 {
	if a.deps.Unnoted == nil {
		return 0
	}
	return a.deps.Unnoted()
}

// onChanges buffers the tracker's changes; a full delta's worth is written at once, the rest
// after FlushEvery.
func (a *digestActor) onChanges(ctx actor.Context, m messages.TrackerStatusChanged) {
	for _, ch := range m.Changes {
		if len(a.buf) >= maxBuffered {
			if !a.dropped {
				a.log.Warn("statusdigest: change buffer full, dropping changes (a reconcile will publish them)", "buffered", len(a.buf))
			}
			a.dropped = true
			break
		}
		a.buf = append(a.buf, sd.FromShort(ch.Cid.Bytes(), ch.Info))
		a.changedDuring(ch.Cid.Bytes())
	}
	switch {
	case len(a.buf) >= sd.MaxEntries:
		a.write(ctx)
	case len(a.buf) > 0 && a.flushTimer == nil && !a.flushReady:
		a.flushTimer = timer.After(ctx, a.deps.Config.FlushEvery, flushDue{})
	}
}

// write starts a reconcile when one is due, and the own-digest writer on what waits, unless
// it runs: a reconcile's batch first, then buffered changes (one delta). There is one writer,
// so that deltas are published in seq order.
func (a *digestActor) write(ctx actor.Context) {
	a.startReconcile(ctx)
	if a.writing {
		return
	}
	self, system, deps, base := ctx.Self(), ctx.ActorSystem(), a.deps, a.ctx
	switch {
	case a.pending != nil:
		rb := a.pending
		a.pending, a.writing = nil, true
		a.spawn(func() {
			seq, _, err := storeAndPublish(base, deps, rb.batch, rb.since)
			system.Root.Send(self, written{what: "reconcile", seq: seq, err: err, done: rb.done})
		})
	case len(a.buf) > 0 && (a.flushReady || len(a.buf) >= sd.MaxEntries):
		n := sd.BatchLen(a.buf)
		batch := a.buf[:n:n]
		a.buf = append([]sd.Entry(nil), a.buf[n:]...)
		a.writing, a.flushReady = true, len(a.buf) > 0
		a.spawn(func() {
			seq, lost, err := storeAndPublish(base, deps, batch, time.Time{})
			system.Root.Send(self, written{what: "delta", seq: seq, err: err, lost: lost})
		})
	}
}

// beat publishes a heartbeat: the last version published, so that it never announces a
// delta still on its way (which would make the others pull), and runs beside the writer, so
// that a long reconcile does not make this peer look silent. The first one after a start
// announces the stored version: a delta stored and never published is then pulled. It
// carries this peer's version vector announcement too (Deps.Versions): what changed since
// the last heartbeat's; and its peername and IPFS peer ID (Deps.Identity).
func (a *digestActor) beat(ctx actor.Context) {
	if a.beating {
		return
	}
	a.beating = true
	self, system, deps, base, published, announced := ctx.Self(), ctx.ActorSystem(), a.deps, a.ctx, a.published, a.announced
	a.spawn(func() {
		epoch, seq, err := deps.Store.OwnDigestVersion()
		var vv crdt.VersionVector
		if err == nil {
			if published != 0 {
				seq = min(seq, published)
			}
			if deps.Versions != nil {
				if v, verr := deps.Versions.VersionVector(); verr == nil {
					vv = v
				}
			}
			var d sd.Digest
			d, vv = heartbeat(epoch, seq, announced, vv)
			if deps.Identity != nil {
				// Bounded: a stalled IPFS node must not hold the heartbeat (its peer would
				// look silent); the heartbeat then goes without the ID.
				ictx, cancel := context.WithTimeout(base, min(identityWait, deps.Config.Heartbeat/2))
				d.Peername, d.IPFS = deps.Identity(ictx)
				cancel()
			}
			err = publish(base, deps.Topic, d)
		}
		system.Root.Send(self, beaten{seq: seq, vv: vv, err: err})
	})
}

func (a *digestActor) onWritten(ctx actor.Context, m written) {
	a.writing = false
	a.dropped = a.dropped || m.lost
	a.published = max(a.published, m.seq)
	if m.err != nil {
		// A delta may be stored and not published: the next heartbeat announces the stored
		// version, and the other peers fill the gap with a pull.
		a.published = 0
	}
	if m.done != nil {
		m.done <- m // the reconcile goes on, or ends with the error (logged then)
	} else if m.err != nil && a.ctx.Err() == nil {
		a.log.Warn("statusdigest: publishing this peer's status digest", "what", m.what, "err", m.err)
	}
	a.write(ctx)
}

// identityWait bounds the heartbeat's wait for Deps.Identity (at most half the heartbeat
// interval).
const identityWait = 2 * time.Second

// heartbeat is the heartbeat of version (epoch, seq) with the announcement of vv after the
// vector the last heartbeat announced (crdt.Announce), and the vector it announces: none when
// vv is nil or has more than sd.MaxVersionEntries entries (the cap keeps the heartbeat within
// sd.MaxMessage whatever the peer IDs, so the heartbeat itself never fails to encode).
func heartbeat(epoch, seq uint64, announced, vv crdt.VersionVector) (sd.Digest, crdt.VersionVector) {
	d := sd.Digest{Epoch: epoch, Seq: seq, Heartbeat: true}
	if vv == nil || len(vv) > sd.MaxVersionEntries {
		return d, nil
	}
	ann := crdt.Announce(announced, vv)
	d.Versions = &ann
	return d, vv
}

// publish encodes d and publishes it. It blocks.
func publish(ctx context.Context, t Topic, d sd.Digest) error {
	b, err := sd.Encode(d)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	return t.PublishStatus(pctx, b)
}

// onPullRequest answers another peer's pull from a goroutine (a Badger read).
func (a *digestActor) onPullRequest(ctx actor.Context, m *messages.StatusDigestPullRequest) {
	sender, system, store := ctx.Sender(), ctx.ActorSystem(), a.deps.Store
	if sender == nil {
		return
	}
	a.spawn(func() {
		pg, err := store.OwnDigestPage(m.After, m.Limit)
		if err != nil {
			system.Root.Send(sender, &messages.StatusDigestPullResponse{Error: err.Error()})
			return
		}
		system.Root.Send(sender, &messages.StatusDigestPullResponse{Epoch: pg.Epoch, Seq: pg.Seq, Entries: pg.Entries, More: pg.More})
	})
}
