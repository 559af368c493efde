package crdt

import "github.com/libp2p/go-libp2p/core/peer"

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
