package membership

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Links: the choice of the members a peer keeps connected (see the package doc).

// ProtectTag names the membership's protection of its links in the host's connection manager.
const ProtectTag = "pincluster-membership"

// pairScore places the pair {a, b} uniformly in [0, 1), the same whichever end computes it.
func pairScore(a, b peer.ID) float64 {
	if a > b {
		a, b = b, a
	}
	h := sha256.Sum256([]byte(string(a) + "\x00" + string(b)))
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}

// linkShare is the fraction of its members a peer links to at random: low of them, or all of
// them when there are no more than low (0: no bound).
func linkShare(low, members int) float64 {
	if low <= 0 || members <= low {
		return 1
	}
	return float64(low) / float64(members)
}

// ringNeighbours are self's successor and predecessor among self and members sorted by ID
// (the same peer twice in a cluster of two; none when alone).
func ringNeighbours(self peer.ID, members []peer.ID) (next, prev peer.ID) {
	if len(members) == 0 {
		return "", ""
	}
	ids := append([]peer.ID{self}, members...)
	slices.Sort(ids)
	i := slices.Index(ids, self)
	return ids[(i+1)%len(ids)], ids[(i+len(ids)-1)%len(ids)]
}

// linkRule tells whether a member is a link when the members are these: its pair score falls
// below the share, or it is a ring neighbour.
func (a *membershipActor) linkRule(members []peer.ID) func(peer.ID, *entry) bool {
	next, prev := ringNeighbours(a.self, members)
	share := linkShare(a.cfg.LowWater, len(members))
	return func(id peer.ID, e *entry) bool { return e.score < share || id == next || id == prev }
}

// relink recomputes which members are links (and which dead ones are still redialled) once
// the member set or a member's liveness changed, protecting the links from the connection
// manager's trimming and releasing the others. Only live members are chosen from: a dead member that some peers still know and
// others never met would otherwise shift their shares and rings apart. Every member's
// protection is told again each time (relink is rare, Protect idempotent), so nothing an
// earlier instance protected outlives it.
func (a *membershipActor) relink() {
	if !a.relinkDue {
		return
	}
	a.relinkDue = false
	members := make([]peer.ID, 0, len(a.known))
	all := make([]peer.ID, 0, len(a.known))
	for id, e := range a.known {
		all = append(all, id)
		if e.live {
			members = append(members, id)
		}
	}
	isLink, wouldBe := a.linkRule(members), a.linkRule(all)
	for id, e := range a.known {
		e.linked = e.live && isLink(id, e)
		a.net.Protect(id, e.linked)
		// A dead member that would be a link were it alive is still redialled (with backoff,
		// unprotected): after a partition that outlasted LiveFor, the two sides hear no ping
		// of each other, and only these dials join them again.
		e.redial = e.linked || (!e.live && wouldBe(id, e))
	}
}
