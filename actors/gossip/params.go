package gossip

import (
	"crypto/sha256"
	"encoding/binary"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
)

// gossipOptions tune gossipsub for a cluster, where every peer subscribes to every topic and
// connects to every other peer, or to about cluster.connection_manager.low_water of them in a
// larger cluster (package membership), and every peer publishes
// metrics and digest heartbeats on a timer. Two defaults made a peer's idle traffic grow as
// the square of the cluster's size (measured: 1.1 KB/s per member at 30 peers, 3.1 KB/s per
// member at 100; docs/scale.md):
//   - GossipFactor 0.25 sends IHAVE gossip, every heartbeat, to a quarter of the topic's
//     non-mesh peers instead of D_lazy (6) of them. Each IHAVE lists the messages of the last
//     three heartbeats, and those grow with N too. With the factor at 0, gossip goes to D_lazy
//     peers: lost messages are still repaired (and anti-entropy repairs the pinset anyway),
//     at O(N) bytes per peer instead of O(N²).
//   - The default message ID is the origin's peer ID and sequence number, 46 bytes, repeated
//     in every IHAVE, IWANT and IDONTWANT. compactMsgID is 16 bytes of their SHA-256.
//
// Three queues are longer than the defaults (32 each). At 100 peers forming on one machine,
// with the CPU saturated, 20% of incoming messages were dropped at a full validation queue
// (90k; 6k with these sizes, counted with a RawTracer): lost pings expire, peers are declared
// down, and formation took minutes. Each queue holds messages of at most maxPubsubMessage, but
// metrics and heartbeats are a few hundred bytes and a pinset batch is shared between the peer
// queues, not copied:
//   - outboundQueue per connected peer (what a slow peer may have pending);
//   - validateQueue, incoming messages waiting for a signature check;
//   - subscriptionBuffer, delivered messages waiting for this peer's readers.
//
// A peer of an older version computes IDs the old way: during a rolling upgrade, gossip
// between the two versions does not match and costs an IWANT and a duplicate delivery (which
// the receiver drops as seen). Nothing is lost or applied twice.
func gossipOptions() []pubsub.Option {
	params := pubsub.DefaultGossipSubParams()
	params.GossipFactor = 0
	return []pubsub.Option{
		pubsub.WithGossipSubParams(params),
		pubsub.WithMessageIdFn(compactMsgID),
		pubsub.WithPeerOutboundQueueSize(outboundQueue),
		pubsub.WithValidateQueueSize(validateQueue),
	}
}

const (
	outboundQueue      = 128
	validateQueue      = 256
	subscriptionBuffer = 256
)

// compactMsgID is 128 bits of SHA-256 over the origin (length first) and its sequence
// number: as unique as the default ID (both are signed under StrictSign) in a third of the
// bytes.
func compactMsgID(m *pb.Message) string {
	h := sha256.New()
	from := m.GetFrom()
	h.Write(binary.AppendUvarint(nil, uint64(len(from)))) // origin and seqno cannot run together
	h.Write(from)
	h.Write(m.GetSeqno())
	var sum [sha256.Size]byte
	return string(h.Sum(sum[:0])[:16])
}
