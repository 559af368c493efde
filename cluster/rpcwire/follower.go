package rpcwire

import (
	"fmt"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// followerClosed are the calls a follower (cluster.follower_mode) refuses even from trusted
// peers: running IPFS GC on its node is the follower operator's decision, as IPFS Cluster's
// follower closes Cluster.RepoGCLocal. Leave (peers rm), recover and the reads stay as the
// table says: trusted peers may still remove a follower and retry its errored pins.
var followerClosed = map[string]bool{protoGCRequest.Name: true}

// ForFollower wraps an Authorize hook for a follower peer: the calls of followerClosed are
// refused from every peer, the others are decided by authorize.
func ForFollower(authorize func(libp2ppeer.ID, string, bool) error) func(libp2ppeer.ID, string, bool) error {
	return func(from libp2ppeer.ID, msgType string, isReply bool) error {
		if followerClosed[msgType] {
			return fmt.Errorf("%w: %s: this peer is a follower: it runs IPFS GC only when its own operator asks", api.ErrForbidden, msgType)
		}
		return authorize(from, msgType, isReply)
	}
}
