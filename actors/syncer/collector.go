package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// Tombstone collection (the collector actor, CollectorName).
//
// An unpin leaves a tombstone so that it wins over older pins still travelling. A tombstone is
// dropped once it is causally stable: every member has seen it (its seq is within the pointwise
// minimum of all members' version vectors) and this peer holds every op each member had made
// when it reported that vector, so no op older than the tombstone can still arrive from a
// member (an op a member makes after it has seen the tombstone ranks above it: a plain op by
// its clock, a conditional one because the pinset drops it once its record has moved on,
// actors/pinset prepare). A peer also keeps, round after round, the tombstones of the CIDs its
// own tracker still has to unpin (Held): an unpin waiting in the tracker's memory is lost with
// a crash, and the startup state sync unpins from the IPFS node only a CID the pinset has a
// record of. The op logs are trimmed up to that minimum too, and a peer that later needs trimmed
// ops loads a snapshot, which can neither resurrect a collected deletion here (records already
// seen are skipped) nor keep one there (records the sender saw and no longer holds are pruned).
//
// Members are durable (persistence: Members): every trusted peer this peer has pulled from,
// until `peers rm`. A member that is down or partitioned holds collection back everywhere until
// it returns, so a partition never lets an acknowledged unpin come back. A member unheard for
// longer than consensus.crdt.absent_peer_horizon stops counting; when it returns its version
// vector is behind the trimmed logs and it rejoins through a snapshot. Collecting without it
// records it as excluded at the collection watermark (the greatest clock collected): its pins
// not after that watermark which land here on a CID without a record raced deletions that left
// no trace, and are superseded by a fresh unpin (RacedPins), whichever way they arrive (op,
// gossip or snapshot) and whichever side pulls first. Untrusted peers never count: their ops
// are refused, so they cannot bring an old pin back to a trusted peer.
//
// A member is heard from when it answers a pull, when its status digest heartbeat announces its
// version vector (announced.go), when ops it made within the horizon reach this
// peer through others (the pinset's PinsetChanged events), and when a member that answers a
// pull heard from it recently (relayed signs of life, liveness.go): it is alive, only not
// reachable directly yet, so collection waits for it instead of excluding it (and then
// superseding its recent pins as raced ones). Relays speak only of members this peer already
// knows (its members table, the origins of the ops it holds, members it heard from): they
// never add one, so a responder cannot grow the table, and the times they carry are ages at
// the responder's clock, so a responder whose clock is off does not move them.
//
// Silence is judged only by a peer in touch with the cluster. A peer that sees no other member
// (none connected, none with a live ping) cannot tell the others' absence from its own
// isolation, so it excludes nobody; once back (or restarted) it judges again only after a
// member answered one of its pulls since, and that answer brought the responder's own signs of
// life of every member: a member the responder heard from recently is alive, only not
// reachable from here yet. A member silent beyond the horizon that may not be judged yet is
// waited for like a present one, so collection stops meanwhile: tombstones wait rather than an
// acknowledged pin being undone. A process that slept (a paused VM: the wall clock moved on
// and the monotonic one did not) judges again only after an answer too. The last peer of a cluster whose others died never judges
// them; `peers rm` lets it collect again. A live member that some peers cannot reach directly
// is kept alive by the others' relays, so it never stops their collection for good either way.
//
// The actor owns the schedule, the last-heard table and its write throttle; a round runs on a
// worker goroutine that reports back by message (it pulls from members and waits on the
// pinset), and the writes go to the pinset actor, the single writer.

// CollectorName is the collector actor's name.
const CollectorName = "collector"

// memberTouchEvery bounds how often a member's last-heard time is written (and at most a
// tenth of the horizon, so a live member is never mistaken for a silent one).
const memberTouchEvery = time.Minute

// Membership is what collection needs to know of the cluster. Safe for concurrent use.
type Membership interface {
	// Visible is every peer connected or with a live ping metric, this one included, minus
	// the removed peers.
	Visible(ctx context.Context) []peer.ID
	// Trusted reports whether ops of id are accepted (trusted_peers, minus removed peers).
	Trusted(id peer.ID) bool
	// Removed reports whether id was removed with peers rm.
	Removed(id peer.ID) bool
}

// CollectStore is what collection reads, and the member records it keeps beside the pinset
// (persistence.Store satisfies it).
type CollectStore interface {
	VersionVector() (map[peer.ID]uint64, error)
	Members() (map[peer.ID]time.Time, error)
	TouchMember(id peer.ID, at time.Time) error
	RacedPins(ctx context.Context, fn func([]crdt.Op)) error
	Get(c api.Cid) (persistence.Record, bool, error)
	MayHoldTombstones() (bool, error)
}

var _ CollectStore = (*persistence.Store)(nil)

// CollectWriter is the pinset actor's part in collection (actors/pinset.Pinset satisfies it).
type CollectWriter interface {
	CollectTombstones(ctx context.Context, upTo map[peer.ID]uint64, exclude []peer.ID, keep func(cid []byte) bool) (*pinset.TombstonesCollected, error)
	Commit(ctx context.Context, changes ...messages.Change) ([]crdt.Op, error)
}

var _ CollectWriter = (*pinset.Pinset)(nil)

// Held reads which tombstones a round keeps (tracker.Tracker.Held): those of the CIDs this
// peer's tracker still has to unpin, or every one while it may have lost some. An unpin
// waiting in the tracker's memory is lost with a crash, and the tombstone is how the startup
// state sync finds it again: the sync never unpins from the IPFS node a CID the pinset has no
// record of (the node's own pins). nil: nothing is held. A round calls it only when the store
// may hold a tombstone (CollectStore.MayHoldTombstones): it reads the tracker's whole queue.
type Held func(ctx context.Context) (keep func(cid []byte) bool, err error)

// CollectorConfig sets the collector's rhythm.
type CollectorConfig struct {
	Self peer.ID
	// Interval between rounds (cluster.state_sync_interval); 0: rounds only on request.
	Interval time.Duration
	// Fresh is how recent each member's version vector must be (a few rebroadcast_intervals).
	Fresh time.Duration
	// Horizon is consensus.crdt.absent_peer_horizon.
	Horizon time.Duration
}

// freshRebroadcasts is how recent, in rebroadcast intervals, each member's version vector must
// be for a collection round.
const freshRebroadcasts = 3

// CollectorRhythm is the collector's config from the cluster's: a round every
// state_sync_interval, version vectors fresh within three rebroadcast_intervals, and the
// absent_peer_horizon.
func CollectorRhythm(self peer.ID, stateSync, rebroadcast, horizon time.Duration) CollectorConfig {
	return CollectorConfig{Self: self, Interval: stateSync, Fresh: freshRebroadcasts * rebroadcast, Horizon: horizon}
}

// Messages of the collector actor.
type (
	// collectTick starts a round (the timer).
	collectTick struct{}
	// collectNow starts a round at once and answers when it ends. Reply: *roundDone.
	collectNow struct{}
	// roundDone reports the end of a round from its worker.
	roundDone struct {
		waiters []*actor.PID
		contact contact // what the round saw of the cluster
	}
	// judgeRound is what the actor hands a round: the members' signs of life, and whether
	// silence may be judged (a pull was answered since this peer was last alone).
	judgeRound struct {
		heard map[peer.ID]time.Time
		judge bool
	}
	// racedPins hands over pins that raced a collected deletion (the store's raced handler).
	racedPins struct{ ops []crdt.Op }
	// memberHeard says a trusted peer answered a pull.
	memberHeard struct{ id peer.ID }
	// memberAnnounced says a trusted peer announced its version vector (announced.go): a
	// sign of life, but no answer (it brings no relays, so silence may not be judged on it).
	memberAnnounced struct{ id peer.ID }
	// membersRelayed are the last-heard times a responder reported (relayed signs of life).
	membersRelayed struct{ heard map[peer.ID]time.Time }
)

type collectorActor struct {
	cfg   CollectorConfig
	c     *collectorDeps
	log   *slog.Logger
	ctx   context.Context
	work  *sync.WaitGroup
	timer *time.Timer

	running bool
	waiters []*actor.PID          // collectNow senders: answered when the next round ends
	queued  []*actor.PID          // collectNow senders that arrived during a round: they get a fresh one
	touched map[peer.ID]time.Time // last-heard times written, for the throttle
	// known are the members this peer knows of (its members table and the origins of its ops
	// at the start, the members of each round, every member heard since): relays speak only
	// of those (onMembersRelayed).
	known map[peer.ID]bool
	// synced says a member answered a pull since this peer last saw no other member (or
	// started): its answer brought the responder's signs of life, so silence may be judged.
	synced bool
	// lastRound is when the last round started, with its monotonic reading (suspended).
	lastRound time.Time
}

// suspended reports whether the process slept (a paused VM, a suspended host) between two
// instants wall and mono apart on the wall and the monotonic clock: the monotonic clock stops
// during a suspend and timers with it, so a peer that wakes after longer than the horizon
// would judge silence on signs of life as old as its sleep before any answer refreshed them.
// A step of the wall clock reads as a sleep too; it only delays judging until an answer.
func suspended(wall, mono, horizon time.Duration) bool {
	return wall-mono > min(time.Minute, max(horizon/10, time.Second))
}

// signs is the newest sign of life of each member that this process observed (a pull
// answered, ops, a responder's relay), shared by the actor (its writer) and the syncer's
// answers (liveness.go). Only observations: the placeholder time gcMembers records for an
// origin it never met is never relayed, or it would bring a dead member back everywhere.
type signs struct {
	mu sync.Mutex
	m  map[peer.ID]time.Time
}

// note records at as id's sign of life if it is newer.
func (s *signs) note(id peer.ID, at time.Time) {
	s.mu.Lock()
	if at.After(s.m[id]) {
		s.m[id] = at
	}
	s.mu.Unlock()
}

// copy is a snapshot of the table.
func (s *signs) copy() map[peer.ID]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m)
}

// collectorDeps are what a round uses; shared, read only, with the workers.
type collectorDeps struct {
	cfg     CollectorConfig
	store   CollectStore
	writer  CollectWriter
	held    Held
	syncer  *Syncer
	members Membership
	log     *slog.Logger
	signs   *signs
}

func (a *collectorActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.loadKnown()
		a.schedule(ctx)
	case *collectTick:
		a.onTick(ctx)
	case *collectNow:
		a.onCollectNow(ctx)
	case *roundDone:
		a.onRoundDone(ctx, m)
	case *racedPins:
		a.onRacedPins(m)
	case *memberHeard:
		a.synced = true // an answer, with the responder's relays before it (same sender)
		a.onMemberHeard(m.id, time.Now())
	case *memberAnnounced:
		a.onMemberHeard(m.id, time.Now())
	case *membersRelayed:
		a.onMembersRelayed(m)
	case messages.PinsetChanged:
		a.onPinsetChanged(m)
	case *actor.Stopping:
		if a.timer != nil {
			a.timer.Stop()
		}
	case *actor.Stopped, *actor.Restarting:
	default:
		a.log.Warn("collector: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

// schedule arms the next tick (timers are messages).
func (a *collectorActor) schedule(ctx actor.Context) {
	if a.cfg.Interval <= 0 {
		return
	}
	a.timer = timer.After(ctx, a.cfg.Interval, &collectTick{})
}

func (a *collectorActor) onTick(ctx actor.Context) {
	if !a.running {
		a.startRound(ctx)
	}
}

func (a *collectorActor) onCollectNow(ctx actor.Context) {
	if ctx.Sender() == nil {
		return
	}
	if a.running {
		a.queued = append(a.queued, ctx.Sender())
		return
	}
	a.waiters = append(a.waiters, ctx.Sender())
	a.startRound(ctx)
}

// startRound runs one round on a worker goroutine, which reports back with roundDone.
func (a *collectorActor) startRound(ctx actor.Context) {
	if a.timer != nil {
		a.timer.Stop()
	}
	a.running = true
	waiters := a.waiters
	a.waiters = nil
	now := time.Now()
	if !a.lastRound.IsZero() && suspended(now.Round(0).Sub(a.lastRound.Round(0)), now.Sub(a.lastRound), a.cfg.Horizon) {
		a.synced = false // asleep: the signs of life it holds are as old as the sleep
	}
	a.lastRound = now
	j := judgeRound{heard: a.c.signs.copy(), judge: a.synced}
	self, system, deps, rctx := ctx.Self(), ctx.ActorSystem(), a.c, a.ctx
	a.work.Add(1)
	go func() {
		defer a.work.Done()
		seen := deps.round(rctx, j)
		system.Root.Send(self, &roundDone{waiters: waiters, contact: seen})
	}()
}

func (a *collectorActor) onRoundDone(ctx actor.Context, m *roundDone) {
	a.running = false
	switch {
	case m.contact.alone:
		a.synced = false
	case m.contact.answered:
		a.synced = true
	}
	for _, id := range m.contact.members {
		a.known[id] = true
	}
	for _, w := range m.waiters {
		ctx.Send(w, m)
	}
	if len(a.queued) > 0 {
		a.waiters, a.queued = a.queued, nil
		a.startRound(ctx)
		return
	}
	a.schedule(ctx)
}

// onRacedPins supersedes raced pins on a worker (it reads the store and commits).
func (a *collectorActor) onRacedPins(m *racedPins) {
	deps, rctx := a.c, a.ctx
	if rctx.Err() != nil {
		return // the next round's sweep finds them after the restart
	}
	a.work.Add(1)
	go func() {
		defer a.work.Done()
		ctx, cancel := context.WithTimeout(rctx, time.Minute)
		defer cancel()
		deps.supersede(ctx, m.ops)
	}()
}

// onMemberHeard records that a member was alive at `at`, in memory at once and in the store
// at most once a memberTouchEvery.
func (a *collectorActor) onMemberHeard(id peer.ID, at time.Time) {
	if id == a.cfg.Self || !a.c.members.Trusted(id) || a.c.members.Removed(id) {
		return
	}
	a.c.signs.note(id, at)
	a.known[id] = true
	every := memberTouchEvery
	if a.cfg.Horizon > 0 {
		every = min(every, a.cfg.Horizon/10)
	}
	if at.Sub(a.touched[id]) < every {
		return
	}
	a.touched[id] = at
	store, log := a.c.store, a.log
	a.work.Add(1)
	go func() { // a store write: off the actor's goroutine
		defer a.work.Done()
		if err := store.TouchMember(id, at); err != nil {
			log.Warn("recording a cluster member", "peer", id, "err", err)
		}
	}()
}

// onPinsetChanged takes ops of other members made within the horizon as signs of life (at
// their clock's wall time, never later than now).
func (a *collectorActor) onPinsetChanged(m messages.PinsetChanged) {
	if m.Local {
		return
	}
	now := time.Now()
	newest := map[peer.ID]time.Time{}
	for _, op := range m.Ops {
		if w := op.Clock.Wall(); w.After(newest[op.Origin]) {
			newest[op.Origin] = w
		}
	}
	for id, at := range newest {
		if a.c.members.Trusted(id) && !a.c.members.Removed(id) {
			a.known[id] = true // an origin of held ops is a member, heard from or not
		}
		if a.cfg.Horizon > 0 && now.Sub(at) > a.cfg.Horizon {
			continue
		}
		if at.After(now) { // a member whose clock runs ahead
			at = now
		}
		a.onMemberHeard(id, at)
	}
}

// Collector is the collector actor's facade.
type Collector struct {
	system *actor.ActorSystem
	pid    *actor.PID
	cancel context.CancelFunc
	work   *sync.WaitGroup
	signs  *signs
}

// SpawnCollector starts the collector actor: a round every cfg.Interval.
func SpawnCollector(parent root.Parent, cfg CollectorConfig, store CollectStore, writer CollectWriter, held Held, s *Syncer, members Membership, log *slog.Logger) (*Collector, error) {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	deps := &collectorDeps{cfg: cfg, store: store, writer: writer, held: held, syncer: s, members: members, log: log,
		signs: &signs{m: map[peer.ID]time.Time{}}}
	work := &sync.WaitGroup{}
	produce := func() actor.Actor {
		return &collectorActor{cfg: cfg, c: deps, log: log, ctx: ctx, work: work, touched: map[peer.ID]time.Time{}}
	}
	system := parent.ActorSystem()
	pid, err := parent.SpawnNamed(actor.PropsFromProducer(produce), CollectorName)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("collector: spawn: %w", err)
	}
	return &Collector{system: system, pid: pid, cancel: cancel, work: work, signs: deps.signs}, nil
}

// CollectNow runs a round (or waits for the one in progress and runs another) and returns
// when it ends.
func (c *Collector) CollectNow(ctx context.Context) error {
	timeout := 10 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	res, err := ask.Request(ctx, c.system, c.pid, &collectNow{}, timeout)
	if err != nil {
		return fmt.Errorf("tombstone collection: %w", err)
	}
	if _, ok := res.(*roundDone); !ok {
		return fmt.Errorf("collector: unexpected reply %T", res)
	}
	return nil
}

// RacedPins hands over pins that raced a collected deletion (persistence's raced handler: it
// does not block).
func (c *Collector) RacedPins(ops []crdt.Op) {
	c.system.Root.Send(c.pid, &racedPins{ops: ops})
}

// PID is the collector actor, a subscriber of the pinset's PinsetChanged events (their remote
// ops are signs of life of their origins).
func (c *Collector) PID() *actor.PID { return c.pid }

// Heard records that a trusted peer answered a pull.
func (c *Collector) Heard(id peer.ID) {
	c.system.Root.Send(c.pid, &memberHeard{id: id})
}

// Announced records that a trusted peer announced its version vector (syncer.WithAnnouncements).
func (c *Collector) Announced(id peer.ID) {
	c.system.Root.Send(c.pid, &memberAnnounced{id: id})
}

// SignsOfLife is the newest sign of life of each member this process observed, for the
// syncer's answers (syncer.WithLiveness's get). Safe for concurrent use.
func (c *Collector) SignsOfLife() map[peer.ID]time.Time { return c.signs.copy() }

// Relayed records the last-heard times of members that a trusted responder reported
// (syncer.WithLiveness's learn).
func (c *Collector) Relayed(heard map[peer.ID]time.Time) {
	c.system.Root.Send(c.pid, &membersRelayed{heard: heard})
}

// Stop stops the actor and waits for its workers (before the pinset and the store stop).
func (c *Collector) Stop() {
	c.cancel()
	_ = c.system.Root.StopFuture(c.pid).Wait()
	c.work.Wait()
}
