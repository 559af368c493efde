package syncer

import (
	"maps"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// SeenVV is a peer's version vector as it last reported it, and when: tombstone collection
// needs a recent one from every peer.
type SeenVV struct {
	VV map[peer.ID]uint64
	At time.Time
}

// noteVV records the version vector a responder reported.
func (s *Syncer) noteVV(from peer.ID, vv map[peer.ID]uint64) {
	s.seenMu.Lock()
	s.seen[from] = SeenVV{VV: vv, At: time.Now()}
	s.seenMu.Unlock()
}

// SeenVVs returns a copy of the latest version vector seen from each peer this peer pulled
// from (only responders are recorded: they are the peers we dialled, authenticated by libp2p).
func (s *Syncer) SeenVVs() map[peer.ID]SeenVV {
	s.seenMu.Lock()
	defer s.seenMu.Unlock()
	out := make(map[peer.ID]SeenVV, len(s.seen))
	for id, sv := range s.seen {
		out[id] = SeenVV{VV: maps.Clone(sv.VV), At: sv.At}
	}
	return out
}

// Forget drops what was seen from a peer (removed from the cluster).
func (s *Syncer) Forget(id peer.ID) {
	s.seenMu.Lock()
	delete(s.seen, id)
	s.seenMu.Unlock()
}
