package gossip

import (
	"context"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/statusdigest"
)

// Status digests travel on <cluster_name>/status (statusdigest.Encode): each peer publishes
// the deltas and heartbeats of the status of its own allocations. The publisher is the pubsub
// message's signer (StrictSign), so no peer speaks for another; only digests of trusted
// peers (consensus.crdt.trusted_peers, not removed) are taken, and a malformed or oversized
// one is dropped and logged. The actor rate-limits each peer.

// Digests takes the status digests of other peers (the status digest actor's facade). It
// never blocks.
type Digests interface {
	Received(from peer.ID, d statusdigest.Digest)
}

// Versions takes the version vector announcements of other peers, which their status digest
// heartbeats carry (the syncer's facade; actors/syncer/announced.go). It never blocks.
type Versions interface {
	Announced(from peer.ID, a crdt.VVAnnouncement)
}

// PublishStatus publishes an encoded status digest on the status topic
// (actors/statusdigest.Topic).
func (t *Topics) PublishStatus(ctx context.Context, data []byte) error {
	return t.status.Publish(ctx, data)
}

// onStatus hands a trusted peer's digest to the status digest actor, and the version vector
// announcement a heartbeat carries to the syncer.
func (r *reader) onStatus(msg *pubsub.Message) {
	if r.deps.Digests == nil && r.deps.Versions == nil {
		return
	}
	if !r.deps.Roster.Trusted(msg.GetFrom()) {
		r.log.Debug("status gossip: ignoring a digest from an untrusted peer", "from", msg.GetFrom())
		return
	}
	d, err := statusdigest.Decode(msg.Data)
	if err != nil {
		r.log.Warn("status gossip: dropping a malformed digest", "from", msg.GetFrom(), "bytes", len(msg.Data), "err", err)
		return
	}
	if d.Versions != nil && r.deps.Versions != nil {
		r.deps.Versions.Announced(msg.GetFrom(), *d.Versions)
	}
	if r.deps.Digests != nil {
		r.deps.Digests.Received(msg.GetFrom(), d)
	}
}
