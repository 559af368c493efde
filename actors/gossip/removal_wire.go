package gossip

import (
	"fmt"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/internal/wirepb"
)

// maxRemovalMessage bounds a removal message (a peer ID and a number).
const maxRemovalMessage = 4 << 10

// encodeRemoval is the wire form of a removal (internal/wirepb/removal.proto).
func encodeRemoval(id libp2ppeer.ID, cutoff uint64) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(&wirepb.Removal{Peer: []byte(id), Cutoff: cutoff})
}

// decodeRemoval reads a removal message. It treats data as hostile.
func decodeRemoval(data []byte) (libp2ppeer.ID, uint64, error) {
	if len(data) > maxRemovalMessage {
		return "", 0, fmt.Errorf("removal message of %d bytes (limit %d)", len(data), maxRemovalMessage)
	}
	var w wirepb.Removal
	if err := proto.Unmarshal(data, &w); err != nil {
		return "", 0, fmt.Errorf("removal message: %w", err)
	}
	id, err := libp2ppeer.IDFromBytes(w.Peer)
	if err != nil {
		return "", 0, fmt.Errorf("removal message: peer: %w", err)
	}
	return id, w.Cutoff, nil
}
