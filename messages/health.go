package messages

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// Conversation: health events. The monitor sends them to its subscriber PIDs (the healer);
// the peer sends PeerRemoved to every actor that keeps a view of the members.

// AlertRaised: a metric expired without being renewed. No reply.
type AlertRaised struct {
	Alert api.Alert
}

// PeerDown: a peer's ping metric expired (the peer is down or cut off). No reply.
type PeerDown struct {
	Peer peer.ID
}

// PeerUp: a peer's ping metric is valid again (or for the first time). No reply.
type PeerUp struct {
	Peer peer.ID
}

// PeerRemoved: a peer was removed from the cluster (peers rm); its ops up to Cutoff stay
// valid. Receivers drop it from their views for good. No reply.
type PeerRemoved struct {
	Peer   peer.ID
	Cutoff uint64
}
