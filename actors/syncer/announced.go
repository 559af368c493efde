package syncer

import (
	"maps"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/telemetry"
)

// Version vector announcements.
//
// Tombstone collection needs a recent version vector of every member (collect_round.go). It
// used to pull one from each member not heard from lately, every state_sync_interval: a pull
// per member per round, each a stream and often a dial (beyond low_water+1 members most are
// not connected, and the connection manager trims them again), each answer carrying the
// responder's whole vector and its table of signs of life. At 1,000 peers that was about 3
// dials a second per peer. Now each peer's status digest heartbeats (every half
// monitor_ping_interval, actors/statusdigest) carry its vector, the gossip actor's reader
// hands every trusted peer's announcement to the syncer (Announced), whose actor keeps it in
// the seen table as a pull would, and a round pulls only the members whose copy is stale or
// holds ops this peer lacks (the pull fetches them). Riding on the heartbeats, the
// announcements add no message: when nothing changed, 20 bytes per heartbeat.
//
// An announcement carries the entries that changed since the previous one (a vector has an
// entry per origin, about 45 bytes each: 45 KB at 1,000 peers, of which a cluster that takes
// pins on a few peers changes a few) and the Sum of the whole vector after the change
// (crdt.Announce). A receiver applies the entries to its copy and keeps the result only when
// its Sum matches: the copy is then exactly the announcer's vector at one instant, as a pull
// answer is. Collection's safety needs exactly that: were a member's own entry older than its
// entry of a tombstone's origin, a pin it made before it saw the tombstone could arrive after
// the drop. A copy that does not match (a heartbeat lost, a restart on either side) stays as
// it was, consistent but ageing, until a pull refreshes it; announcements match again from
// the first one the announcer read after the pulled copy was read (each names every entry
// changed since the announcer's previous read). The whole vector goes in the first heartbeat
// after a start only (a restarted receiver pulls each member once instead).
//
// A limit: a member this peer cannot dial (not linked, unreachable from here) is refreshed by
// its heartbeats alone. Once a heartbeat with changes is lost, its copy no longer matches and
// ages until a pull gets through, and collection waits meanwhile, as it did when every copy
// came from a pull that could not get through.
//
// The copies stay fresh enough for collection (half its window of three
// rebroadcast_intervals) while heartbeats come more often than that: with the defaults, every
// 7.5 s against 15 s. A cluster configured otherwise (a rebroadcast_interval under a third of
// monitor_ping_interval) pulls its members' vectors in each round, as before.

// Each peer's announcements are rate-limited (a token bucket; the excess is dropped, which
// only costs a pull): a peer announces once a heartbeat, half a monitor_ping_interval.
const (
	announceRate  = 10 // per second
	announceBurst = 20
	// maxAnnouncers bounds the buckets kept (trusted peers only reach the actor).
	maxAnnouncers = 10_000
)

// vvAnnounced is an announcement from a trusted peer, received at `at`.
type vvAnnounced struct {
	from peer.ID
	a    crdt.VVAnnouncement
	at   time.Time
}

// WithAnnouncements sets alive, told of each trusted peer whose announcement was taken (a
// sign of life: the collector's Announced).
func WithAnnouncements(alive func(peer.ID)) Option {
	return func(s *Syncer) { s.alive = alive }
}

// Announced takes a trusted peer's version vector announcement (gossip.Versions). It never
// blocks.
func (s *Syncer) Announced(from peer.ID, a crdt.VVAnnouncement) {
	s.system.Root.Send(s.pid, &vvAnnounced{from: from, a: a, at: time.Now()})
}

// onVVAnnounced merges an announcement into the seen table: the copy it yields replaces the
// one held, as fresh as a pull's answer, when its Sum is the announced one; otherwise the
// held copy stays as it was (see above).
func (a *syncerActor) onVVAnnounced(m *vvAnnounced) {
	lim := a.announcers[m.from]
	if lim == nil {
		if len(a.announcers) >= maxAnnouncers {
			clear(a.announcers)
		}
		lim = rate.NewLimiter(a.announceLimit, announceBurst)
		a.announcers[m.from] = lim
	}
	if !lim.AllowN(m.at, 1) {
		telemetry.Announcements.WithLabelValues("dropped").Inc()
		a.log.Debug("version vector announcements: dropping one from a peer that announces too often", "peer", m.from)
		return
	}
	if a.alive != nil {
		a.alive(m.from)
	}
	vv, sum, ok := a.merged(m.from, m.a)
	if !ok || sum != m.a.Sum {
		telemetry.Announcements.WithLabelValues("behind").Inc()
		return
	}
	telemetry.Announcements.WithLabelValues("current").Inc()
	a.seen[m.from] = SeenVV{VV: vv, At: m.at}
	a.sums[m.from] = sum
}

// merged is the copy of from's vector that ann yields, and its Sum; !ok: there is none (a
// change announced to a peer that holds no copy to apply it to).
func (a *syncerActor) merged(from peer.ID, ann crdt.VVAnnouncement) (vv map[peer.ID]uint64, sum [crdt.SumSize]byte, ok bool) {
	cur, have := a.seen[from]
	switch {
	case ann.Full:
		vv = make(map[peer.ID]uint64, len(ann.Entries))
		for o, n := range ann.Entries {
			if n > 0 {
				vv[o] = n
			}
		}
	case !have:
		return nil, sum, false
	case len(ann.Entries) == 0:
		if s, cached := a.sums[from]; cached {
			return cur.VV, s, true
		}
		vv = cur.VV
	default:
		vv = maps.Clone(cur.VV)
		for o, n := range ann.Entries {
			if n == 0 {
				delete(vv, o)
			} else {
				vv[o] = n
			}
		}
	}
	return vv, crdt.VersionVector(vv).Sum(), true
}
