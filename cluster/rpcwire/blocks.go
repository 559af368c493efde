package rpcwire

import (
	"fmt"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// AuthorizeBlockPush is the policy of the block push stream (blockpush.ProtocolID, a cluster
// add streaming blocks to an allocation): it writes into this peer's IPFS node, so, like every
// call that changes this peer, only consensus.crdt.trusted_peers may make it. A follower
// accepts pushes from trusted peers too: that is how a cluster add reaches its allocations.
func AuthorizeBlockPush(trusted func(libp2ppeer.ID) bool) func(libp2ppeer.ID) error {
	return func(from libp2ppeer.ID) error {
		if !trusted(from) {
			return fmt.Errorf("%w: pushing blocks needs a trusted peer and %s is not in consensus.crdt.trusted_peers", api.ErrForbidden, from)
		}
		return nil
	}
}
