package syncer

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// stableVV is the pointwise minimum of the members' version vectors: self's is local, the
// others' the latest seen at or after notBefore. An origin absent from any of them counts as 0
// and is left out. missing lists the members without a recent version vector, or that held
// ops of a trusted origin this peer has not received yet (one of them could be older than a
// tombstone, and would come back after it was dropped); when it is not empty, upTo is nil and
// nothing may be collected.
func stableVV(self peer.ID, members []peer.ID, local map[peer.ID]uint64, seen map[peer.ID]SeenVV, notBefore time.Time, trusted func(peer.ID) bool) (upTo map[peer.ID]uint64, missing []peer.ID) {
	upTo = make(map[peer.ID]uint64, len(local))
	for o, n := range local {
		if n > 0 {
			upTo[o] = n
		}
	}
	for _, id := range members {
		if id == self {
			continue
		}
		sv, ok := seen[id]
		if !ok || sv.At.Before(notBefore) || !crdt.VersionVector(local).Covers(sv.VV, trusted) {
			missing = append(missing, id)
			continue
		}
		for o, n := range upTo {
			if m := sv.VV[o]; m < n {
				if m == 0 {
					delete(upTo, o)
				} else {
					upTo[o] = m
				}
			}
		}
	}
	if len(missing) > 0 {
		return nil, missing
	}
	return upTo, nil
}
