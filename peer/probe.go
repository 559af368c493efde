package peer

import (
	"context"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/internal/peerprobe"
)

// probe is the view handed to Options.Probe (in-process tests and benchmarks only).
func (p *Peer) probe() peerprobe.Probe {
	backend := p.ipfs
	if nc, ok := backend.(nopCloser); ok {
		backend = nc.Backend
	}
	return peerprobe.New(peerprobe.Parts{Host: p.host, Backend: backend, CountPins: p.store.CountPins,
		TrackerQueueLen: p.tracker.QueueLen, PendingBroadcast: p.batcher.Pending,
		CollectedClock: func() uint64 {
			c, _ := p.store.CollectedClock()
			return uint64(c)
		},
		HasDigestOf: func(id libp2ppeer.ID) bool {
			_, found, err := p.store.DigestMeta(id)
			return err == nil && found
		},
		VersionVector: func() map[libp2ppeer.ID]uint64 {
			vv, err := p.store.VersionVector()
			if err != nil {
				return nil
			}
			return vv
		},
		VersionsSeen: func() map[libp2ppeer.ID]time.Time {
			seen, err := p.syncer.SeenVVs(context.Background())
			if err != nil {
				return nil
			}
			out := make(map[libp2ppeer.ID]time.Time, len(seen))
			for id, sv := range seen {
				out[id] = sv.At
			}
			return out
		},
		Root: p.root})
}
