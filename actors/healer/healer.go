package healer

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// ActorName is the healer's name under its parent.
const ActorName = "healer"

// ErrStopped is returned by facade calls after Stop.
var ErrStopped = fmt.Errorf("%w: the healer is stopped", api.ErrUnavailable)

// Messages of the healer actor.
type (
	// Sweep asks for a state sync followed by a repin of every under-replicated pin (what the
	// sweep timer sends; tests send it too). Reply, when asked: Swept (after that run).
	Sweep struct{}
	// Swept answers a Sweep request once the run it joined finished.
	Swept struct{ Repinned int }
	// recoverTick: re-queue the tracker's errored items.
	recoverTick struct{}
	// workDone is the worker's report: pins reallocated.
	workDone struct{ repinned int }
	// nodeCounted is the worker's count of the IPFS node's pins, sent as soon as its state
	// sync has listed them (the rest of the sync can take minutes at millions of pins).
	nodeCounted struct{ count *nodeCount }
	// recoverDone is the recovery worker's report.
	recoverDone struct{}
	// aloneSeen is the worker's report that this peer saw no other live peer when it was to
	// repin: it may be the one cut off, so repinning waits (healerActor.aloneAt).
	aloneSeen struct {
		at   time.Time
		dead []peer.ID // the down peers whose repin it skipped: they wait
	}
	// settledTick retries the repins that waited for this peer to settle.
	settledTick struct{}
)

// Healer is the facade of the healer actor.
type Healer struct {
	system  *actor.ActorSystem
	pid     *actor.PID
	tracker Tracker
	listed  *atomic.Pointer[nodeCount] // the last listing of the node's pins (nil: none yet)
}

// nodeCount is a state sync's count of the IPFS node's pins, with the tracker's Settled
// counters as of halfway through the listing (worker.stateSync).
type nodeCount struct {
	pins                       int
	settledPins, settledUnpins uint64
}

// Spawn starts the healer under parent. It syncs state at once.
func Spawn(parent root.Parent, deps Deps, log *slog.Logger) (*Healer, error) {
	if deps.Pins == nil || deps.Pinset == nil || deps.Allocator == nil || deps.Live == nil || deps.Tracker == nil || deps.Node == nil {
		return nil, fmt.Errorf("healer: every dependency is required")
	}
	if deps.SyncInterval <= 0 {
		deps.SyncInterval = 10 * time.Minute
	}
	if deps.RecoverInterval <= 0 {
		deps.RecoverInterval = 12 * time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "healer")
	listed := new(atomic.Pointer[nodeCount])
	props := actor.PropsFromProducer(func() actor.Actor {
		return &healerActor{deps: deps, log: log, down: map[peer.ID]bool{}, listed: listed}
	})
	pid, err := parent.SpawnNamed(props, ActorName)
	if err != nil {
		return nil, fmt.Errorf("healer: spawn: %w", err)
	}
	return &Healer{system: parent.ActorSystem(), pid: pid, tracker: deps.Tracker, listed: listed}, nil
}

// NodePins is the number of pins on the IPFS node (the numpin metric): the last state sync's
// count of them (at start and every state_sync_interval), plus the pins and less the unpins
// the tracker completed since; false before the first count. The state sync lists the node
// anyway, and asking the node for a count is a listing too (Kubo has no cheaper call): at
// millions of pins, no metric to take every ping interval. Between listings the figure
// drifts, and the next listing corrects it: up by every pin of a CID the node held already
// (a pin whose allocations or options changed and stayed here, a tracker restart paging its
// queue in again), and by half the pins completed while the node listed; a pin removed
// behind the cluster's back is not seen.
func (h *Healer) NodePins() (int, bool) {
	l := h.listed.Load()
	if l == nil {
		return 0, false
	}
	pins, unpins := h.tracker.Settled()
	n := int64(l.pins) + int64(pins-l.settledPins) - int64(unpins-l.settledUnpins)
	return int(max(n, 0)), true
}

// PID is the actor's address: the monitor sends it PeerDown, the peer PeerRemoved.
func (h *Healer) PID() *actor.PID { return h.pid }

// Sweep runs a sweep now and returns the number of pins it reallocated.
func (h *Healer) Sweep(ctx context.Context) (int, error) {
	r, err := ask.Call[Swept](ctx, h.system, h.pid, Sweep{}, time.Hour, "the healer", ErrStopped)
	return r.Repinned, err
}

// Stop stops the actor and its timers (a run in progress ends with its context).
func (h *Healer) Stop() { _ = h.system.Root.StopFuture(h.pid).Wait() }

// job is one run of the worker: a state sync and/or repins.
type job struct {
	sync  bool      // state sync (after the dead peers' pins, before a sweep)
	sweep bool      // repin every under-replicated pin, and take removed peers out of any pin
	dead  []peer.ID // repin the pins allocated to these peers
}

type healerActor struct {
	deps Deps
	log  *slog.Logger

	busy    bool
	down    map[peer.ID]bool // PeerDown received, repin not started yet
	syncDue bool             // a sync or sweep is pending
	sweep   bool             // the pending sync includes a sweep
	waiters []*actor.PID     // Sweep requesters waiting for the next sweep to finish
	running []*actor.PID     // Sweep requesters waiting for the current run
	recover bool             // a recovery worker is running
	// listed is Healer.listed, kept across restarts (it is a reading, not state).
	listed *atomic.Pointer[nodeCount]

	// aloneAt is when this peer last saw no other live peer at a repin (zero: never). A peer
	// cut off from the rest (a partition, a paused process) sees every other ping expire at
	// once and cannot tell their absence from its own: it would move their pins onto itself
	// with fresh timestamps, which win over the unpins the others acknowledged meanwhile.
	// Repinning waits Settle after it, as after a start, for the others' pings to come back.
	aloneAt     time.Time
	settleTimer *time.Timer

	syncTimer, recoverTimer *time.Timer
	// wanted: a sync asked for (StateSyncWanted: `recover`, a restarted tracker), started once
	// wantedGap has passed since the last sync ended (wantedTimer), so that a script calling
	// `recover` in a loop does not keep the healer in back-to-back passes over the pinset.
	wanted      bool
	wantedTimer *time.Timer
	syncStart   time.Time // of the sync running (zero: none)
	lastSync    struct {
		end  time.Time
		took time.Duration
	}
	ctx    context.Context
	cancel context.CancelFunc
}

func (a *healerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.onStopping()
	case messages.PeerDown:
		a.onPeerDown(ctx, m.Peer)
	case messages.PeerUp:
		delete(a.down, m.Peer) // back before its repin started: nothing to do
	case messages.PeerRemoved:
		// Its pins count as unavailable from now on, and the sweep takes it out of every pin
		// that lists it (Deps.Removed).
		a.onSweep(ctx, nil)
	case Sweep:
		a.onSweep(ctx, ctx.Sender())
	case messages.StateSyncWanted:
		a.wanted = true
		a.onWanted(ctx)
	case wantedTick:
		a.wantedTimer = nil
		a.onWanted(ctx)
	case sweepTick:
		a.syncTimer = timer.After(ctx, a.deps.SyncInterval, sweepTick{})
		a.onSweep(ctx, nil)
	case recoverTick:
		a.recoverTimer = timer.After(ctx, a.deps.RecoverInterval, recoverTick{})
		a.onRecover(ctx)
	case workDone:
		a.onWorkDone(ctx, m)
	case nodeCounted:
		a.listed.Store(m.count)
	case recoverDone:
		a.recover = false
	case aloneSeen:
		if m.at.After(a.aloneAt) {
			a.aloneAt = m.at
		}
		for _, id := range m.dead {
			a.down[id] = true // a peer back meanwhile holds its pins again: nothing moves
		}
		a.next(ctx) // the repins it skipped wait for settle
	case settledTick:
		a.settleTimer = nil
		a.next(ctx)
	case messages.AlertRaised, *actor.Stopped:
	default:
		a.log.Warn("healer: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

// sweepTick is the state_sync_interval timer.
type sweepTick struct{}

func (a *healerActor) onStarted(ctx actor.Context) {
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.syncTimer = timer.After(ctx, a.deps.SyncInterval, sweepTick{})
	a.recoverTimer = timer.After(ctx, a.deps.RecoverInterval, recoverTick{})
	a.syncDue = true // the startup sync
	a.next(ctx)
}

// wantedTick is the timer of a wanted sync put off (see healerActor.wanted).
type wantedTick struct{}

// minWantedGap is the least time between the end of a sync and a wanted one; a sync that
// took longer spaces the next by its own length (at most half the healer's time in syncs).
var minWantedGap = 5 * time.Second

func (a *healerActor) onWanted(ctx actor.Context) {
	if !a.wanted || a.wantedTimer != nil || !a.syncStart.IsZero() { // a running sync: paced after it ends
		return
	}
	if wait := max(minWantedGap, a.lastSync.took) - time.Since(a.lastSync.end); !a.lastSync.end.IsZero() && wait > 0 {
		a.wantedTimer = timer.After(ctx, wait, wantedTick{})
		return
	}
	a.wanted = false
	a.syncDue = true
	a.next(ctx)
}

func (a *healerActor) onStopping() {
	for _, t := range []*time.Timer{a.syncTimer, a.recoverTimer, a.settleTimer, a.wantedTimer} {
		if t != nil {
			t.Stop()
		}
	}
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *healerActor) onPeerDown(ctx actor.Context, id peer.ID) {
	a.log.Warn("peer is down (its ping metric expired)", "peer", id)
	if a.deps.DisableRepinning || id == a.deps.Self {
		return
	}
	a.down[id] = true
	a.next(ctx)
}

func (a *healerActor) onSweep(ctx actor.Context, waiter *actor.PID) {
	a.syncDue, a.sweep = true, true
	if waiter != nil {
		a.waiters = append(a.waiters, waiter)
	}
	a.next(ctx)
}

// next starts the worker on what is pending, unless it is running.
func (a *healerActor) next(ctx actor.Context) {
	if a.busy {
		return
	}
	var j job
	settled := a.settled(ctx)
	if a.syncDue {
		j.sync, j.sweep = true, a.sweep && !a.deps.DisableRepinning && time.Since(a.deps.Started) >= a.deps.Settle && settled
		a.syncDue, a.sweep = false, false
		a.running, a.waiters = a.waiters, nil
		a.syncStart = time.Now()
		a.wanted = false // this sync is the one wanted
	}
	if !a.deps.DisableRepinning && !j.sweep && settled {
		for id := range a.down {
			j.dead = append(j.dead, id)
		}
		slices.Sort(j.dead)
	}
	if settled {
		clear(a.down) // a sweep covers every down peer
	}
	if !j.sync && len(j.dead) == 0 {
		return
	}
	a.busy = true
	self, system := ctx.Self(), ctx.ActorSystem()
	w := worker{deps: a.deps, log: a.log, tell: func(m any) { system.Root.Send(self, m) }}
	base := a.ctx
	go func() {
		n := w.run(base, j)
		system.Root.Send(self, workDone{repinned: n})
	}()
}

// settled reports whether Settle has passed since this peer last saw itself alone; if not,
// it schedules the retry of what waits (the down peers' repins are kept meanwhile).
func (a *healerActor) settled(ctx actor.Context) bool {
	wait := a.deps.Settle - time.Since(a.aloneAt)
	if a.aloneAt.IsZero() || wait <= 0 {
		return true
	}
	if a.settleTimer == nil {
		a.settleTimer = timer.After(ctx, wait, settledTick{})
	}
	return false
}

func (a *healerActor) onWorkDone(ctx actor.Context, m workDone) {
	a.busy = false
	if !a.syncStart.IsZero() {
		a.lastSync.end = time.Now()
		a.lastSync.took = a.lastSync.end.Sub(a.syncStart)
		a.syncStart = time.Time{}
		a.onWanted(ctx)
	}
	for _, w := range a.running {
		ctx.Send(w, Swept{Repinned: m.repinned})
	}
	a.running = nil
	a.next(ctx)
}

func (a *healerActor) onRecover(ctx actor.Context) {
	if a.recover {
		return
	}
	a.recover = true
	self, system, tr, log, base := ctx.Self(), ctx.ActorSystem(), a.deps.Tracker, a.log, a.ctx
	go func() {
		defer system.Root.Send(self, recoverDone{})
		if n, err := tr.RecoverAll(base); err != nil {
			log.Warn("recover: re-queueing errored items", "err", err)
		} else if n > 0 {
			log.Info("recover: re-queued errored items", "count", n)
		}
	}()
}
