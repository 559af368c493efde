package ipfs

import (
	"context"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// BlockPutter stores raw blocks in the IPFS node, unpinned: the cluster add's receiving side
// (blockpush) writes the blocks another peer streams to it. Both real backends implement it
// (embedded: a blockstore batch; kubo: block/put); a Backend that does not cannot take pushed
// blocks, and the push to its peer fails with a message saying so.
type BlockPutter interface {
	// PutBlocks stores blks (already verified against their CIDs by the caller) and returns
	// once they are durable. root names the DAG they belong to: a backend that protects
	// just-added roots from GC (embedded: Config.AddGrace) protects it, so the pin that
	// follows the push finds the blocks. Safe for concurrent use.
	PutBlocks(ctx context.Context, root cid.Cid, blks []blocks.Block) error
	// HasBlock reports whether the node holds the block c (no network).
	HasBlock(ctx context.Context, c cid.Cid) (bool, error)
}

// Wrapper is a Backend that wraps another (fault injection, an injected backend kept open):
// BlockPutterOf looks through it.
type Wrapper interface {
	Unwrap() Backend
}

// BlockPutterOf returns b's BlockPutter, looking through Wrappers, or nil when b cannot store
// raw blocks.
func BlockPutterOf(b Backend) BlockPutter {
	for b != nil {
		if p, ok := b.(BlockPutter); ok {
			return p
		}
		w, ok := b.(Wrapper)
		if !ok {
			return nil
		}
		b = w.Unwrap()
	}
	return nil
}
