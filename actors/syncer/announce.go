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

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// Version vector announcements (the announcer actor, AnnouncerName; the receiving side is
// announced.go).
//
// Tombstone collection needs a recent version vector of every member (collect_round.go). It
// used to pull one from each member not heard from lately, every state_sync_interval: a pull
// per member per round, each a stream and often a dial (beyond low_water+1 members most are
// not connected, and the connection manager trims them again), each answer carrying the
// responder's whole vector and its table of signs of life. At 1,000 peers that was about 3
// dials a second per peer. Now each peer announces its vector on <cluster_name>/versions
// every AnnounceEvery, the others keep it in the seen table (seen.go) as a pull would, and a
// round pulls only the members whose copy is stale or holds ops this peer lacks (the pull
// fetches them).
//
// An announcement carries the entries that changed since the previous one (a vector has an
// entry per origin, about 45 bytes each: 45 KB at 1,000 peers, of which a cluster that takes
// pins on a few peers changes a few) and the Sum of the whole vector after the change. A
// receiver applies the entries to its copy and keeps the result only when its Sum matches:
// the copy is then exactly the announcer's vector at one instant, as a pull answer is.
// Collection's safety needs exactly that: were a member's own entry older than its entry of
// a tombstone's origin, a pin it made before it saw the tombstone could arrive after the
// drop. A copy that does not match (an announcement lost, a restart on either side) stays as
// it was, consistent but ageing, until a pull refreshes it; later announcements match again
// once it is current. The whole vector goes in the first announcement after a start and
// whenever it has at most fullEntries entries, so a small cluster never needs the pull.

// AnnouncerName is the announcer actor's name.
const AnnouncerName = "versions"

// fullEntries: a vector of at most this many entries (about 1.5 KB) is always announced
// whole.
const fullEntries = 32

// AnnounceEvery is how often a peer announces its version vector: half a
// rebroadcast_interval, so that two announcements may be lost before a member's copy is older
// than collection's refresh age (half its freshness window of three rebroadcast_intervals).
func AnnounceEvery(rebroadcast time.Duration) time.Duration { return rebroadcast / 2 }

// AnnouncePublisher publishes an announcement on the versions topic (gossip.Topics).
type AnnouncePublisher interface {
	PublishVersions(ctx context.Context, a messages.VersionAnnouncement) error
}

// VersionReader reads this peer's version vector (persistence.Store).
type VersionReader interface {
	VersionVector() (map[peer.ID]uint64, error)
}

// Messages of the announcer actor.
type (
	announceTick struct{}
	// announced is the worker's report: the vector it announced (nil on error).
	announced struct {
		vv  map[peer.ID]uint64
		err error
	}
)

type announcerActor struct {
	store VersionReader
	pub   AnnouncePublisher
	every time.Duration
	log   *slog.Logger
	ctx   context.Context
	work  *sync.WaitGroup

	busy  bool
	last  map[peer.ID]uint64 // the vector last announced; nil: none yet (a start announces whole)
	timer *time.Timer
}

// Announcer is the announcer actor's facade.
type Announcer struct {
	system *actor.ActorSystem
	pid    *actor.PID
	cancel context.CancelFunc
	work   *sync.WaitGroup
}

// SpawnAnnouncer starts the announcer: an announcement at once, then every `every`. A
// restarted instance starts afresh with a whole vector.
func SpawnAnnouncer(parent root.Parent, store VersionReader, pub AnnouncePublisher, every time.Duration, log *slog.Logger) (*Announcer, error) {
	if every <= 0 {
		return nil, fmt.Errorf("announcer: the interval must be positive")
	}
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	work := &sync.WaitGroup{}
	produce := func() actor.Actor {
		return &announcerActor{store: store, pub: pub, every: every, log: log, ctx: ctx, work: work}
	}
	pid, err := parent.SpawnNamed(actor.PropsFromProducer(produce), AnnouncerName)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("announcer: spawn: %w", err)
	}
	return &Announcer{system: parent.ActorSystem(), pid: pid, cancel: cancel, work: work}, nil
}

// Stop stops the announcer and waits for its worker (an announcement being published is
// cancelled), so that nothing reads the store after.
func (a *Announcer) Stop() {
	a.cancel()
	_ = a.system.Root.StopFuture(a.pid).Wait()
	a.work.Wait()
}

func (a *announcerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.onTick(ctx)
	case *announceTick:
		a.onTick(ctx)
	case *announced:
		a.busy = false
		if m.err != nil {
			if a.ctx.Err() == nil {
				a.log.Debug("announcing the version vector", "err", m.err)
			}
			return // the next announcement is computed against the last one sent
		}
		a.last = m.vv
	case *actor.Stopping:
		if a.timer != nil {
			a.timer.Stop()
		}
	case *actor.Stopped, *actor.Restarting:
	default:
		a.log.Warn("announcer: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

// onTick arms the next tick and, unless an announcement is still being published, reads and
// announces the vector on a worker (a store read and a publish).
func (a *announcerActor) onTick(ctx actor.Context) {
	a.timer = timer.After(ctx, a.every, &announceTick{})
	if a.busy {
		return
	}
	if a.ctx.Err() != nil {
		return
	}
	a.busy = true
	a.work.Add(1)
	self, system, store, pub, last, base, every, work := ctx.Self(), ctx.ActorSystem(), a.store, a.pub, a.last, a.ctx, a.every, a.work
	go func() {
		defer work.Done()
		vv, err := store.VersionVector()
		if err == nil {
			pctx, cancel := context.WithTimeout(base, every)
			err = pub.PublishVersions(pctx, announcement(last, vv))
			cancel()
		}
		if err != nil {
			vv = nil
		}
		system.Root.Send(self, &announced{vv: vv, err: err})
	}()
}

// announcement is what announces vv after last (nil: none announced yet): the whole vector
// when there was none or it is small, otherwise the entries that differ (0 for an origin
// gone), with vv's Sum.
func announcement(last, vv map[peer.ID]uint64) messages.VersionAnnouncement {
	a := messages.VersionAnnouncement{Sum: crdt.VersionVector(vv).Sum()}
	if last == nil || len(vv) <= fullEntries {
		a.Full = true
		a.Entries = maps.Clone(vv)
		return a
	}
	a.Entries = map[peer.ID]uint64{}
	for o, n := range vv {
		if last[o] != n {
			a.Entries[o] = n
		}
	}
	for o, n := range last {
		if _, ok := vv[o]; !ok && n > 0 {
			a.Entries[o] = 0
		}
	}
	return a
}
