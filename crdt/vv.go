package crdt

import (
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

// VersionVector is, per origin, the highest seq of its ops a peer holds. Every origin numbers
// its ops 1, 2, 3... and a peer applies an origin's ops with no gap (anti-entropy pulls what
// is missing), so one number per origin says exactly which ops a peer has.
type VersionVector map[peer.ID]uint64

// Covers reports whether v holds every op of a trusted origin that other holds. Ops of
// untrusted origins are ignored: a peer refuses them, so they cannot hold anything back.
func (v VersionVector) Covers(other VersionVector, trusted func(peer.ID) bool) bool {
	for o, n := range other {
		if v[o] < n && trusted(o) {
			return false
		}
	}
	return true
}

// SumSize is the length of a Sum.
const SumSize = 16

// Sum is a digest of v that two peers compute alike: 128 bits of SHA-256 over its nonzero
// entries in origin order, each origin length-prefixed. Two vectors with the same Sum are
// equal (a zero entry is the same as none). It lets a peer that was told the changes to a
// member's vector check that its copy is now exactly that vector (version vector
// announcements, actors/syncer/announced.go).
func (v VersionVector) Sum() [SumSize]byte {
	origins := make([]peer.ID, 0, len(v))
	for o, n := range v {
		if n > 0 {
			origins = append(origins, o)
		}
	}
	slices.Sort(origins)
	h := sha256.New()
	var buf [2 * binary.MaxVarintLen64]byte
	for _, o := range origins {
		h.Write(binary.AppendUvarint(buf[:0], uint64(len(o))))
		h.Write([]byte(o))
		h.Write(binary.AppendUvarint(buf[:0], v[o]))
	}
	var sum [sha256.Size]byte
	var out [SumSize]byte
	copy(out[:], h.Sum(sum[:0]))
	return out
}

// VVAnnouncement is a peer's version vector as it announces it to the others (in its status
// digest heartbeats; actors/syncer/announced.go says why): whole (Full), or the entries that
// changed since its previous announcement (seq 0: the origin is gone), with the Sum of the
// whole vector after them. No entries and not Full: nothing changed.
type VVAnnouncement struct {
	Full    bool
	Sum     [SumSize]byte
	Entries map[peer.ID]uint64
}

// Announce is the announcement of vv after last (nil: none announced yet): the whole vector
// when there was none, otherwise the entries that differ (0 for an origin gone), with vv's
// Sum. Only the first is whole: every heartbeat carries one, and a whole vector is about 45
// bytes per origin (1.3 KB at 30 peers, every 7.5 s from every peer), where an unchanged one
// costs the Sum alone. A receiver without a copy to apply changes to pulls the vector once.
func Announce(last, vv VersionVector) VVAnnouncement {
	a := VVAnnouncement{Sum: vv.Sum()}
	if last == nil {
		a.Full = true
		a.Entries = maps.Clone(vv)
		if a.Entries == nil {
			a.Entries = map[peer.ID]uint64{}
		}
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
