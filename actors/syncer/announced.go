package syncer

import (
	"maps"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/telemetry"
)

// The receiving side of version vector announcements (announce.go says why they exist): the
// gossip actor's reader hands every trusted peer's announcement to the syncer (Announced),
// whose actor merges it into the seen table, its state.

// Each peer's announcements are rate-limited (a token bucket; the excess is dropped, which
// only costs a pull): a peer announces every AnnounceEvery, half a rebroadcast_interval.
const (
	announceRate  = 10 // per second
	announceBurst = 20
	// maxAnnouncers bounds the buckets kept (trusted peers only reach the actor).
	maxAnnouncers = 10_000
)

// vvAnnounced is an announcement from a trusted peer, received at `at`.
type vvAnnounced struct {
	from peer.ID
	a    messages.VersionAnnouncement
	at   time.Time
}

// WithAnnouncements sets alive, told of each trusted peer whose announcement was taken (a
// sign of life: the collector's Announced).
func WithAnnouncements(alive func(peer.ID)) Option {
	return func(s *Syncer) { s.alive = alive }
}

// Announced takes a trusted peer's version vector announcement (gossip.Versions). It never
// blocks.
func (s *Syncer) Announced(from peer.ID, a messages.VersionAnnouncement) {
	s.system.Root.Send(s.pid, &vvAnnounced{from: from, a: a, at: time.Now()})
}

// onVVAnnounced merges an announcement into the seen table: the copy it yields replaces the
// one held, as fresh as a pull's answer, when its Sum is the announced one; otherwise the
// held copy stays as it was (see announce.go).
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
func (a *syncerActor) merged(from peer.ID, ann messages.VersionAnnouncement) (vv map[peer.ID]uint64, sum [crdt.SumSize]byte, ok bool) {
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
