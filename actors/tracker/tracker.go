package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/cidset"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// DefaultRequestTimeout bounds a facade call whose ctx has no deadline (Recover excepted,
// which waits for the attempt as long as ctx allows, up to RecoverWaitLimit).
const DefaultRequestTimeout = 30 * time.Second

// RecoverWaitLimit bounds how long Recover waits when ctx has no deadline.
const RecoverWaitLimit = time.Hour

// stopWait bounds how long Stop waits for IPFS calls to return after cancelling them.
const stopWait = 10 * time.Second

// Tracker is the facade of the pin tracker actors. Its methods are safe for concurrent use.
type Tracker struct {
	system   *actor.ActorSystem
	pid      *actor.PID
	cfg      Config
	backend  ipfs.Backend
	queue    Queue
	self     peer.ID
	peername string
	logger   *slog.Logger

	queueLen atomic.Int64
	// starts counts the tracker actor's incarnations; from the second on, the fresh instance
	// tells resync (NotifyRestarts) that the memory-only items of the crashed one are gone.
	starts atomic.Int32
	// gen counts the tracker's incarnations and its failed queue writes (Incarnation); reconciled is the gen under which a state sync last listed the IPFS node
	// and handed back what it found due (MarkReconciled); 0: none yet.
	gen        atomic.Int32
	reconciled atomic.Int32
	resync     atomic.Pointer[actor.PID]
	changes    atomic.Pointer[actor.PID] // NotifyChanges
	unnoted    atomic.Uint64             // Unnoted
	settled    settledCounts             // Settled
	ops        sync.WaitGroup
	ipfsID     *ipfs.IDCache
	stopOnce   sync.Once
}

// New validates cfg and spawns the tracker actor (named "tracker") under parent.
// queue is its durable queue (the pinset's persistence.Store): what was queued there before
// (a restart) is resumed.
func New(parent root.Parent, cfg Config, backend ipfs.Backend, queue Queue, self peer.ID, peername string, logger *slog.Logger) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if backend == nil {
		return nil, errors.New("tracker: no IPFS backend")
	}
	if queue == nil {
		return nil, errors.New("tracker: no durable queue")
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "tracker")
	system := parent.ActorSystem()
	t := &Tracker{system: system, cfg: cfg, queue: queue, self: self, peername: peername, logger: logger}
	t.backend = countingBackend{Backend: backend, n: &t.settled}
	backend = t.backend
	t.ipfsID = &ipfs.IDCache{Node: backend}
	t.queueLen.Store(int64(queue.QueueLen()))
	// A fresh instance per (re)start: it rebuilds its window from the durable queue.
	props := actor.PropsFromProducer(func() actor.Actor {
		a := newTrackerActor(system, self, cfg, backend, queue, logger, &t.ops, &t.queueLen)
		a.changesTo, a.unnoted, a.gen = &t.changes, &t.unnoted, &t.gen
		t.gen.Add(1)
		if t.starts.Add(1) > 1 {
			a.resync = t.resync.Load()
		}
		return a
	})
	pid, err := parent.SpawnNamed(props, "tracker")
	if err != nil {
		return nil, fmt.Errorf("tracker: spawn: %w", err)
	}
	t.pid = pid
	return t, nil
}

// NotifyRestarts names the actor (the healer) told with messages.StateSyncWanted when the
// tracker actor restarts: the window items it held in memory only are then re-derived.
func (t *Tracker) NotifyRestarts(pid *actor.PID) { t.resync.Store(pid) }

// NotifyChanges names the actor (the status digest actor) told of every status change with
// messages.TrackerStatusChanged (digest.go).
func (t *Tracker) NotifyChanges(pid *actor.PID) { t.changes.Store(pid) }

// Unnoted counts the operations queued in the durable queue without a status change told
// (batch entries, and CIDs queued beyond the window): their change is told when they are
// paged in. While it moves, the status digest reconciles every state_sync_interval. A batch
// entry's CID whose pinset change found no record of it (messages.PinsetChanged.Created) is
// not counted: it has no status digest entry to correct (but for the rare leftover batchOut
// names), so a batch ingest or a snapshot install does not make every peer reconcile its
// whole pinset.
func (t *Tracker) Unnoted() uint64 { return t.unnoted.Load() }

// Settled counts the pins the IPFS node completed and the pins it removed since the tracker
// started (a pin of a CID the node held already counts too; an unpin of a CID it did not hold
// does not): the healer adds them to its last count of the node's pins (the numpin metric)
// until its next listing.
func (t *Tracker) Settled() (pins, unpins uint64) {
	return t.settled.pins.Load(), t.settled.unpins.Load()
}

// request sends msg to the tracker actor and waits for its reply, mapping timeouts, dead
// letters and cancellation to errors.
func (t *Tracker) request(ctx context.Context, msg interface{}, limit time.Duration) (interface{}, error) {
	return ask.Call[any](ctx, t.system, t.pid, msg, limit, "pin tracker", ErrStopped)
}

func (t *Tracker) ack(ctx context.Context, msg interface{}) error {
	res, err := t.request(ctx, msg, DefaultRequestTimeout)
	if err != nil {
		return err
	}
	r, ok := res.(messages.TrackerAck)
	if !ok {
		return fmt.Errorf("tracker: unexpected reply %T", res)
	}
	return r.Err
}

// Track queues a pin of a pin allocated here (priority or normal queue by the rules),
// cancelling an unpin in flight. Idempotent. A full queue returns an api.ErrUnavailable error.
func (t *Tracker) Track(ctx context.Context, pin api.Pin) error {
	if !pin.Cid.Defined() {
		return fmt.Errorf("%w: track: undefined CID", api.ErrInvalid)
	}
	return t.ack(ctx, messages.TrackPin{Pin: pin})
}

// TrackMany is Track for many pins with one round trip; it returns the first error (the other
// pins are still tracked).
func (t *Tracker) TrackMany(ctx context.Context, pins []api.Pin) error {
	if len(pins) == 0 {
		return nil
	}
	for _, p := range pins {
		if !p.Cid.Defined() {
			return fmt.Errorf("%w: track: undefined CID", api.ErrInvalid)
		}
	}
	return t.ack(ctx, messages.TrackPins{Pins: pins})
}

// PID is the tracker actor's address, for subscribing it to the pinset's PinsetChanged events
// (pinset.Spawn, pinset.Subscribe): pins allocated to this peer are tracked, every other op
// is untracked, in the order of the events.
func (t *Tracker) PID() *actor.PID { return t.pid }

// Reconcile hands ops that changed the pinset outside a pinset write (a snapshot install, the
// removal of a member's ops) to the tracker as a PinsetChanged event. It does not wait.
func (t *Tracker) Reconcile(ops []crdt.Op) {
	if len(ops) > 0 {
		t.system.Root.Send(t.pid, messages.PinsetChanged{Ops: ops})
	}
}

// Untrack cancels a pin in flight and queues an unpin. Idempotent.
func (t *Tracker) Untrack(ctx context.Context, c api.Cid) error {
	if !c.Defined() {
		return fmt.Errorf("%w: untrack: undefined CID", api.ErrInvalid)
	}
	return t.ack(ctx, messages.UntrackPin{Cid: c})
}

// inFlight is the CID's state in the window, else in the durable queue (queued beyond the
// window, or failed). The window is asked first: an item moves from the queue into the window,
// and leaves the window only once its durable entry is gone.
func (t *Tracker) inFlight(ctx context.Context, c api.Cid) (api.PinInfoShort, bool, error) {
	res, err := t.request(ctx, statusQuery{cid: c}, DefaultRequestTimeout)
	if err != nil {
		return api.PinInfoShort{}, false, err
	}
	r, ok := res.(statusReply)
	if !ok {
		return api.PinInfoShort{}, false, fmt.Errorf("tracker: unexpected reply %T", res)
	}
	if r.found || r.settled {
		return r.info, r.found, nil
	}
	e, found, err := t.queue.QueueGet(c)
	if err != nil {
		return api.PinInfoShort{}, false, fmt.Errorf("tracker: reading the durable queue: %w", err)
	}
	if !found {
		return api.PinInfoShort{}, false, nil
	}
	return t.entryShort(e), true, nil
}

// entryShort is the state of a durable entry out of the window.
func (t *Tracker) entryShort(e persistence.QueueEntry) api.PinInfoShort {
	op, ph, prio := opPin, phaseQueued, e.Priority
	if e.Unpin {
		op = opUnpin
	}
	if e.Failed {
		ph = phaseFailed
	} else {
		prio = usePriorityQueue(e.Attempts, e.Created, time.Now(), t.cfg)
	}
	return api.PinInfoShort{Status: inFlightStatus(op, ph), Error: e.Err, AttemptCount: e.Attempts, PriorityPin: prio}
}

// Incarnation is the tracker's incarnation: it changes when the actor restarts (or the process
// does), which loses the items it held in memory only, and when a queue write failed, which
// loses its operations, until a state sync puts them back (MarkReconciled).
func (t *Tracker) Incarnation() int32 { return t.gen.Load() }

// MarkReconciled records that a state sync begun under incarnation n listed the IPFS node and
// tracked again what the pinset says: what the tracker holds is complete again.
func (t *Tracker) MarkReconciled(n int32) { t.reconciled.Store(n) }

// Held tells tombstone collection which tombstones to keep (syncer.Held): those of the CIDs
// the tracker holds (TrackedSet), or every one until a state sync has reconciled the tracker
// since it last started: an unpin it held in memory only is lost with a crash or a restart,
// and the sync that would put it back may not have listed the node yet (the node is down).
// Its pins count too: a pin entry whose unpin was lost (a crash before its queue write) will
// pin a CID whose record is a tombstone, and only that tombstone lets the next state sync
// unpin it again.
func (t *Tracker) Held(ctx context.Context) (func(cid []byte) bool, error) {
	n := t.gen.Load()
	if t.reconciled.Load() != n {
		return func([]byte) bool { return true }, nil
	}
	set, err := t.TrackedSet(ctx)
	if err != nil {
		return nil, err
	}
	if t.gen.Load() != n { // answered by a restarted instance, or an operation lost meanwhile
		return func([]byte) bool { return true }, nil
	}
	return set.Has, nil
}

// TrackedSet is every CID with work queued, in progress or failed here (a state sync skips
// those): the window's items, the queue puts not written yet, and the durable queue, batch
// entries' CIDs and failed entries included, as fingerprints for one pass (sized by the queue: 12 bytes a CID,
// internal/cidset). It reads the queue once, not the IPFS node.
func (t *Tracker) TrackedSet(ctx context.Context) (*cidset.Set, error) {
	set := cidset.WithCapacity(t.QueueLen())
	add := func(c api.Cid) { set.Add(c.KeyString()) }
	err := t.listInFlight(ctx, func(c api.Cid, _ api.PinInfoShort) error {
		add(c)
		return nil
	}, add)
	if err != nil {
		return nil, err
	}
	return set, nil
}

// QueueLen is the number of items queued or in progress, counted in the durable queue (the
// pinqueue metric).
func (t *Tracker) QueueLen() int { return int(t.queueLen.Load()) }

// Stop stops the tracker and its cid actors, cancelling their IPFS calls, and waits (up to
// 10s) for those calls to return. Later facade calls return ErrStopped.
func (t *Tracker) Stop() {
	t.stopOnce.Do(func() {
		if err := t.system.Root.StopFuture(t.pid).Wait(); err != nil {
			t.logger.Warn("tracker: stop", "error", err)
		}
		done := make(chan struct{})
		go func() { t.ops.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(stopWait):
			t.logger.Warn("tracker: IPFS calls still running after stop", "waited", stopWait)
		}
	})
}
