package cluster

import (
	"context"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/blockpush"
)

// BlockPusher streams an add's blocks to its allocations (blockpush.Pusher). Deps.Blocks may be
// nil: add then keeps the --local behaviour for every add (in-process tests with fakes).
type BlockPusher interface {
	// NewSpool makes the temporary blockstore one add chunks into; the caller closes it.
	NewSpool() (*blockpush.Spool, error)
	// Push stores every block of sp (a whole spool, or a shard's part of it) on to's IPFS node (this peer's own node when to is this
	// peer) and returns once to has acked the last one. Safe for concurrent use; errors name
	// the peer.
	Push(ctx context.Context, to peer.ID, sp blockpush.Source, root cid.Cid, progress func(blockpush.Progress)) error
}
