package pinset

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/telemetry"
)

// maxWriteBatch bounds one group commit so a burst cannot build a huge transaction.
const maxWriteBatch = 4096

type waiter struct {
	sender *actor.PID
	ops    []crdt.Op
	pins   []*api.Pin // local requests: the decoded pin of each op (nil for unpins)
}

// batch is one group commit: whole local requests, then whole remote requests.
type batch struct {
	waiters []waiter
	remote  []waiter // sender nil when nobody waits
}

func (b batch) ops() []crdt.Op {
	var ops []crdt.Op
	for _, w := range b.waiters {
		ops = append(ops, w.ops...)
	}
	for _, w := range b.remote {
		ops = append(ops, w.ops...)
	}
	return ops
}

func (b batch) run(_ context.Context, store Store) any {
	changed, err := store.Apply(b.ops())
	return &writeDone{b: b, changed: changed, err: err}
}

// writerResult carries a job's result (writeDone, maintDone) from the writer goroutine of
// the incarnation that started it: a restarted actor ignores the crashed one's (its
// requesters time out; nothing was acknowledged).
type writerResult struct {
	from *pinsetActor
	msg  any
}

func (a *pinsetActor) onWriterResult(ctx actor.Context, m writerResult) {
	if m.from != a {
		return
	}
	a.inflight = batch{}
	switch r := m.msg.(type) {
	case *writeDone:
		a.onWriteDone(ctx, r)
	case *maintDone:
		a.onMaintDone(ctx, r)
	default:
		a.log.Warn("pinset: unknown writer result", "type", fmt.Sprintf("%T", r))
	}
}

// writeDone reports the end of a Store.Apply run in the writer goroutine.
type writeDone struct {
	b       batch
	changed []crdt.Effect
	err     error
}

type pinsetActor struct {
	self  peer.ID
	store Store
	clock *crdt.Clock
	subs  []*actor.PID // told of every change (PinsetChanged), in order
	log   *slog.Logger

	nextSeq uint64
	// ownKnown is the highest seq of this peer's own ops seen coming back (pulled, or in a
	// snapshot) since the instance started: numbering never goes back to or below it.
	ownKnown uint64
	waiting  []waiter        // local requests not yet written
	remote   []waiter        // remote ops not yet written
	jobs     []maintJob      // snapshot installs and tombstone collections not yet run (install.go)
	applied  []appliedWaiter // AwaitApplied requests not answered yet (applied.go)
	writing  bool
	inflight batch           // the group commit being written (its requesters, for abandonWaiters)
	writes   *sync.WaitGroup // the writer goroutine, awaited by Stop before the store closes
	writeq   chan writeJob   // to the writer goroutine; closed when the actor stops
	seal     sealState       // seal.go
	// jobCtx bounds the long maintenance writes; cancelled when the actor stops.
	jobCtx    context.Context
	cancelJob context.CancelFunc
}

func newActor(self peer.ID, store Store, clock *crdt.Clock, subs []*actor.PID, log *slog.Logger) (*pinsetActor, error) {
	last, err := store.LastSeq(self)
	if err != nil {
		return nil, fmt.Errorf("pinset: reading last seq: %w", err)
	}
	mc, err := store.MaxClock()
	if err != nil {
		return nil, fmt.Errorf("pinset: reading max clock: %w", err)
	}
	clock.Observe(mc)
	jobCtx, cancel := context.WithCancel(context.Background())
	return &pinsetActor{self: self, store: store, clock: clock, subs: subs, log: log, nextSeq: last + 1, writes: &sync.WaitGroup{},
		jobCtx: jobCtx, cancelJob: cancel}, nil
}

// faultHook, when set (tests only), sees every message of the pinset actor before it is
// handled; a panic there crashes the actor, to show that supervision restarts it fresh.
var faultHook atomic.Pointer[func(any)]

func (a *pinsetActor) Receive(ctx actor.Context) {
	if h := faultHook.Load(); h != nil {
		(*h)(ctx.Message())
	}
	switch m := ctx.Message().(type) {
	case *messages.CommitChanges:
		a.onCommitChanges(ctx, m)
	case *messages.ApplyRemoteOps:
		a.onApplyRemote(ctx, m)
	case *writeDone:
		a.onWriteDone(ctx, m)
	case Subscribe:
		a.onSubscribe(m)
	case *awaitApplied:
		a.onAwaitApplied(ctx, m)
	case appliedDeadline:
		a.checkApplied(ctx)
	case *InstallSnapshotPage, *RaiseVersionVector, *CollectTombstones, *DropAfterCutoff:
		a.onMaintenance(ctx, m)
	case writerResult:
		a.onWriterResult(ctx, m)
	case *sealWrites:
		a.onSeal(ctx, m)
	case *actor.Stopping:
		a.cancelJob()
	case *actor.Restarting:
		// The fresh instance cannot answer this one's requesters: tell them to ask again
		// (Commit does) instead of letting them wait for their timeout.
		a.abandonWaiters(ctx)
		a.abandonApplied(ctx)
		a.abandonSeal(ctx)
		a.cancelJob()
		if a.writeq != nil {
			close(a.writeq)
			a.writeq = nil
		}
	case *actor.Stopped:
		// A restart gets a fresh instance (facade.go): this one's writer ends after its job.
		a.cancelJob()
		if a.writeq != nil {
			close(a.writeq)
			a.writeq = nil
		}
	case *actor.Started:
	default:
		a.log.Warn("pinset: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

func (a *pinsetActor) onCommitChanges(ctx actor.Context, m *messages.CommitChanges) {
	if err := a.refused(); err != nil {
		ctx.Respond(sealedReply(err))
		return
	}
	ops := make([]crdt.Op, 0, len(m.Changes))
	pins := make([]*api.Pin, 0, len(m.Changes))
	for i, ch := range m.Changes {
		op := crdt.Op{Origin: a.self, Kind: ch.Kind, Cid: ch.Pin.Cid, After: ch.After}
		var pin *api.Pin
		if ch.Kind == crdt.OpPin {
			b := ch.PinJSON
			if len(b) == 0 {
				var err error
				if b, err = api.MarshalPin(&ch.Pin); err != nil {
					ctx.Respond(&messages.ChangesCommitted{Err: fmt.Errorf("pinset: encoding pin %s: %w", ch.Pin.Cid, err)})
					return
				}
			}
			op.PinJSON = b
			pin = &m.Changes[i].Pin
		}
		ops = append(ops, op)
		pins = append(pins, pin)
	}
	a.waiting = append(a.waiting, waiter{sender: ctx.Sender(), ops: ops, pins: pins})
	a.maybeWrite(ctx)
}

// prepare readies the local requests of a group commit about to be written: it drops each
// conditional op (crdt.Rank) whose record has moved on since the change was made, then gives
// the rest their seqs and clocks. It runs when the batch is taken, with no write in flight,
// so the records it reads are those the ops will be merged with (a local op goes before the
// remote ones of its batch, and an op of this batch on the same CID counts as moved on).
//
// Decision: a conditional op is dropped here, before it has a seq, rather than logged as a
// loser. Logged, it would be an op made after its origin saw whatever replaced the record,
// ranked below it: once that was a collected tombstone, the op would bring the pin back on
// the peers that no longer hold the tombstone, and only there. Every op an origin makes after
// seeing a change must rank above it; a conditional op that passes this check does.
func (a *pinsetActor) prepare(b batch) {
	conditional := false
	for _, w := range b.waiters {
		for _, op := range w.ops {
			conditional = conditional || !op.After.IsZero()
		}
	}
	if conditional {
		touched := map[string]bool{}
		for i := range b.waiters {
			w := &b.waiters[i]
			ops, pins := w.ops[:0], w.pins[:0]
			for k, op := range w.ops {
				key := op.Cid.KeyString()
				if !op.After.IsZero() && (touched[key] || !a.stillAfter(op)) {
					continue
				}
				touched[key] = true
				ops, pins = append(ops, op), append(pins, w.pins[k])
			}
			w.ops, w.pins = ops, pins
		}
	}
	for _, w := range b.waiters {
		a.number(w.ops)
	}
}

// stillAfter reports whether op's CID's record is the one the conditional op was made from: a
// live pin ranked op.After. Any doubt answers false; the op's maker tries again on its next
// pass.
func (a *pinsetActor) stillAfter(op crdt.Op) bool {
	rec, found, err := a.store.Get(op.Cid)
	if err != nil {
		a.log.Warn("pinset: reading the record a conditional change was made from; the change is dropped", "cid", op.Cid, "err", err)
		return false
	}
	return found && !rec.Deleted && rec.Op.Rank() == op.After
}

// number gives local ops the next seqs, and fresh clocks but for conditional ops, which are
// stamped with their rank (crdt.Rank.Clock).
func (a *pinsetActor) number(ops []crdt.Op) {
	for i := range ops {
		ops[i].Seq = a.nextSeq
		if ops[i].After.IsZero() {
			ops[i].Clock = a.clock.Now()
		} else {
			ops[i].Clock = ops[i].After.Next().Clock()
		}
		a.nextSeq++
	}
}

func (a *pinsetActor) onApplyRemote(ctx actor.Context, m *messages.ApplyRemoteOps) {
	for _, op := range m.Ops {
		a.clock.Observe(op.Clock)
		// Our own ops coming back (a peer whose state was cleaned and that rejoined pulls its
		// old ops from the others): keep numbering after them so no seq is used twice.
		if op.Origin == a.self {
			a.ownKnown = max(a.ownKnown, op.Seq)
			a.nextSeq = max(a.nextSeq, op.Seq+1)
		}
	}
	a.remote = append(a.remote, waiter{sender: ctx.Sender(), ops: m.Ops})
	a.maybeWrite(ctx)
}

// maybeWrite starts a group commit of what is pending, or else the next maintenance job,
// unless a write is in flight.
func (a *pinsetActor) maybeWrite(ctx actor.Context) {
	if a.writing || (len(a.waiting) == 0 && len(a.remote) == 0 && len(a.jobs) == 0) {
		return
	}
	var job writeJob
	if len(a.waiting) > 0 || len(a.remote) > 0 {
		b := a.takeBatch()
		a.prepare(b)
		a.inflight = b
		job = b
	} else {
		job, a.jobs = a.jobs[0], a.jobs[1:]
	}
	a.writing = true
	if a.writeq == nil {
		// One long-lived writer goroutine: a goroutine per batch would regrow its stack
		// through Badger's deep call chain every time.
		q := make(chan writeJob, 1)
		a.writeq = q
		self, system, store, jobCtx := ctx.Self(), ctx.ActorSystem(), a.store, a.jobCtx
		a.writes.Add(1)
		go func() {
			defer a.writes.Done()
			for j := range q { // q, not a.writeq: the actor clears its field when it stops
				system.Root.Send(self, writerResult{from: a, msg: j.run(jobCtx, store)})
			}
		}()
	}
	a.writeq <- job // never blocks: one write in flight at a time, and the writer is idle
}

// takeBatch takes whole requests, local first, up to maxWriteBatch ops (at least one request).
func (a *pinsetActor) takeBatch() batch {
	var b batch
	n := 0
	take := func(q []waiter) int {
		i := 0
		for i < len(q) && (n == 0 || n+len(q[i].ops) <= maxWriteBatch) {
			n += len(q[i].ops)
			i++
		}
		return i
	}
	i := take(a.waiting)
	b.waiters, a.waiting = a.waiting[:i:i], a.waiting[i:]
	r := take(a.remote)
	b.remote, a.remote = a.remote[:r:r], a.remote[r:]
	return b
}

func (a *pinsetActor) onWriteDone(ctx actor.Context, m *writeDone) {
	a.writing = false
	// Store.Apply commits in chunks: after a failure, the ops of earlier chunks are stored
	// (their changed flags are set; a local op always wins, so for local ops changed means
	// committed). A local request whose ops all committed is acknowledged; the rest fail.
	// The subscribers (tracker, batcher) are sent what was stored before any requester is
	// answered: once Commit returns, the change is already in their mailboxes, so nothing a
	// caller does next (stop, read status) can overtake it.
	a.notify(ctx, m) // after a failure: what did commit
	countCommitted(m)
	a.checkApplied(ctx)
	j := 0
	for i, w := range append(m.b.waiters[:len(m.b.waiters):len(m.b.waiters)], m.b.remote...) {
		committed := m.err == nil
		if !committed && i < len(m.b.waiters) {
			committed = true
			for k := range w.ops {
				committed = committed && j+k < len(m.changed) && m.changed[j+k].Won()
			}
		}
		j += len(w.ops)
		reply := &messages.ChangesCommitted{Err: m.err}
		if committed {
			reply = &messages.ChangesCommitted{Ops: w.ops}
		}
		if w.sender != nil {
			ctx.Send(w.sender, reply)
		}
	}
	if m.err != nil {
		a.log.Error("pinset: write failed", "ops", len(m.changed), "err", m.err)
		// Continue numbering after what is stored so our op log has no gap (the requests still
		// waiting are numbered when they are written), and after our own ops seen coming back:
		// one still queued to be written (or not written by this failure) holds its seq.
		if last, err := a.store.LastSeq(a.self); err == nil {
			a.nextSeq = max(last, a.ownKnown) + 1
		}
	}
	a.maybeWrite(ctx)
	a.answerSeal(ctx)
}

func (a *pinsetActor) onSubscribe(m Subscribe) {
	for _, s := range a.subs {
		if s.Equal(m.PID) {
			return
		}
	}
	a.subs = append(a.subs, m.PID)
}

func (a *pinsetActor) notify(ctx actor.Context, m *writeDone) {
	if len(a.subs) == 0 {
		return
	}
	// Count first, so each slice is made once (a batch ingest notifies thousands of ops at a
	// time; growing them by append was 7% of a replica's allocated bytes).
	nw := 0
	for _, w := range m.b.waiters {
		nw += len(w.ops)
	}
	nLocal, nRemote := countWon(m.changed[:min(nw, len(m.changed))]), countWon(m.changed[min(nw, len(m.changed)):])
	local, remote := make([]crdt.Op, 0, nLocal), make([]crdt.Op, 0, nRemote)
	localCreated, remoteCreated := make([]bool, 0, nLocal), make([]bool, 0, nRemote)
	localPins := make([]*api.Pin, 0, nLocal)
	var localUnheld, remoteUnheld []bool
	j := 0
	for _, w := range m.b.waiters {
		for k, op := range w.ops {
			if j < len(m.changed) && m.changed[j].Won() {
				local = append(local, op)
				localCreated = append(localCreated, m.changed[j] == crdt.Created)
				localPins = append(localPins, w.pins[k])
				localUnheld = markUnheld(localUnheld, len(local)-1, nLocal, m.changed[j])
			}
			j++
		}
	}
	for _, w := range m.b.remote {
		for _, op := range w.ops {
			if j < len(m.changed) && m.changed[j].Won() {
				remote = append(remote, op)
				remoteCreated = append(remoteCreated, m.changed[j] == crdt.Created)
				remoteUnheld = markUnheld(remoteUnheld, len(remote)-1, nRemote, m.changed[j])
			}
			j++
		}
	}
	for _, s := range a.subs {
		if len(local) > 0 {
			ctx.Send(s, messages.PinsetChanged{Ops: local, Local: true, Pins: localPins, Created: localCreated, Unheld: localUnheld})
		}
		if len(remote) > 0 {
			ctx.Send(s, messages.PinsetChanged{Ops: remote, Created: remoteCreated, Unheld: remoteUnheld})
		}
	}
}

// markUnheld sets flags[i] (of n) when e is crdt.Unheld, making flags only then: most events
// hold no unheld tombstone.
func markUnheld(flags []bool, i, n int, e crdt.Effect) []bool {
	if e != crdt.Unheld {
		return flags
	}
	if flags == nil {
		flags = make([]bool, n)
	}
	flags[i] = true
	return flags
}

func countWon(es []crdt.Effect) int {
	n := 0
	for _, e := range es {
		if e.Won() {
			n++
		}
	}
	return n
}

// errRestarted answers the requests a crashed pinset instance held: their changes were not
// acknowledged (a write in flight may still have landed; committing again is harmless, the
// later op wins with the same content).
var errRestarted = fmt.Errorf("%w: the pinset actor restarted before acknowledging the change", api.ErrUnavailable)

// abandonWaiters answers every request this instance holds, written or not, with errRestarted.
func (a *pinsetActor) abandonWaiters(ctx actor.Context) {
	for _, ws := range [][]waiter{a.inflight.waiters, a.inflight.remote, a.waiting, a.remote} {
		for _, w := range ws {
			if w.sender != nil {
				ctx.Send(w.sender, &messages.ChangesCommitted{Err: errRestarted})
			}
		}
	}
	a.inflight, a.waiting, a.remote = batch{}, nil, nil
}

// countCommitted adds the ops of a group commit that changed the pinset to the metrics, by
// origin (a remote op older than its CID's record is logged but changes nothing).
func countCommitted(m *writeDone) {
	j := 0
	for i, w := range append(m.b.waiters[:len(m.b.waiters):len(m.b.waiters)], m.b.remote...) {
		n := 0
		for k := range w.ops {
			if j+k < len(m.changed) && m.changed[j+k].Won() {
				n++
			}
		}
		j += len(w.ops)
		origin := "remote"
		if i < len(m.b.waiters) {
			origin = "local"
		}
		if n > 0 {
			telemetry.OpsCommitted.WithLabelValues(origin).Add(float64(n))
		}
	}
	if len(m.changed) > 0 {
		telemetry.CommitSize.Observe(float64(len(m.changed)))
	}
}
