package syncer

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Relayed signs of life. Every anti-entropy answer carries when the responder last heard from
// each member (what its collector observed since it started: answers, ops, relays; never the
// placeholder time it records for an origin it never met), and the requester takes those
// times as signs of life. A peer back from isolation reaches some members before others;
// without the relayed times the ones it cannot reach yet look silent since it was cut off,
// and tombstone collection would go on without them (and unpin what they pinned meanwhile as
// raced pins). A relayed time is always some peer's observation: a member nobody hears stays
// silent, so a dead peer is not kept alive by the relays but for the answers' trip times (an
// age is read on arrival: each hop makes it younger by its trip, milliseconds against a
// horizon of hours). It travels with the responder's clock at the answer (heard_at), and the
// requester reads it as an age: a responder whose clock runs ahead (or behind) moves no
// member's age. From an older responder, which sends no
// heard_at, times are taken as they are, capped at the requester's now. Only members the
// requester already knows are taken (onMembersRelayed): relays never add members.

// maxRelayedMembers bounds the members read from one answer (a cluster has far fewer).
const maxRelayedMembers = 10_000

// maxAgeMs is the oldest relayed age read (about 100 years, within time.Duration).
const maxAgeMs = 100 * 365 * 24 * 3600 * 1000

// WithLiveness makes signs of life travel with anti-entropy: every answer carries get() (the
// responder's last-heard time of each member), and learn is told what a trusted responder
// reports.
func WithLiveness(get func() map[peer.ID]time.Time, learn func(map[peer.ID]time.Time)) Option {
	return func(s *Syncer) { s.heard, s.learnHeard = get, learn }
}

// encodeHeard is the wire form of last-heard times: peer ID string -> Unix milliseconds.
func encodeHeard(heard map[peer.ID]time.Time) map[string]uint64 {
	out := make(map[string]uint64, len(heard))
	for id, at := range heard {
		if ms := at.UnixMilli(); ms > 0 {
			out[id.String()] = uint64(ms)
		}
	}
	return out
}

// decodeHeard parses the wire form, skipping entries that are not peer IDs: each time becomes
// its age at the responder's clock at (Unix ms) taken from now; with at 0 (an older peer) the
// time itself, capped at now.
func decodeHeard(wire map[string]uint64, at uint64, now time.Time) map[peer.ID]time.Time {
	out := make(map[peer.ID]time.Time, min(len(wire), maxRelayedMembers))
	for s, ms := range wire {
		if len(out) >= maxRelayedMembers {
			break
		}
		id, err := peer.Decode(s)
		if err != nil {
			continue
		}
		if at == 0 {
			out[id] = time.UnixMilli(int64(min(ms, uint64(now.UnixMilli()))))
			continue
		}
		age := at - min(ms, at)
		if age > maxAgeMs {
			continue // older than any horizon (and than time.Duration holds)
		}
		out[id] = now.Add(-time.Duration(age) * time.Millisecond)
	}
	return out
}

// learnLiveness hands the last-heard times an answer carries to the owner.
func (s *Syncer) learnLiveness(wire map[string]uint64, at uint64) {
	if s.learnHeard == nil || len(wire) == 0 {
		return
	}
	if heard := decodeHeard(wire, at, time.Now()); len(heard) > 0 {
		s.learnHeard(heard)
	}
}

// loadKnown reads the members this peer knows from the store: its members table and the
// origins of its ops. In Receive, once at the start (two small reads), so that no relay
// arrives before it: relays and the answer that carries them are taken in order.
func (a *collectorActor) loadKnown() {
	a.known = map[peer.ID]bool{}
	members, err := a.c.store.Members()
	if err != nil {
		a.log.Warn("tombstone collection: reading the members", "err", err)
	}
	for id := range members {
		a.known[id] = true
	}
	vv, err := a.c.store.VersionVector()
	if err != nil {
		a.log.Warn("tombstone collection: reading the version vector", "err", err)
	}
	for id := range vv {
		a.known[id] = true
	}
}

// onMembersRelayed takes the last-heard times a responder reported as signs of life, those
// within the horizon (an older one could only have the member excluded at once), of members
// this peer knows: a relay never adds one, or a responder could grow this peer's members
// table without bound (with trusted_peers "*" every peer ID is trusted). A member this peer
// never heard of becomes known by its ops, its connection or its answer, as before relays.
func (a *collectorActor) onMembersRelayed(m *membersRelayed) {
	now := time.Now()
	for id, at := range m.heard {
		if !a.known[id] || a.cfg.Horizon > 0 && now.Sub(at) > a.cfg.Horizon {
			continue
		}
		if at.After(now) {
			at = now
		}
		a.onMemberHeard(id, at)
	}
}
