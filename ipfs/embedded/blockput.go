package embedded

import (
	"context"
	"fmt"
	"io"

	"github.com/ipfs/boxo/files"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

var _ ipfs.BlockPutter = (*Node)(nil)

// PutBlocks stores pushed blocks in one batch (ipfs.BlockPutter) and protects root from GC for
// Config.AddGrace, as Add does, so the pin that follows finds the blocks.
func (n *Node) PutBlocks(ctx context.Context, root cid.Cid, blks []blocks.Block) error {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	if root.Defined() {
		n.recent.add(root)
	}
	if err := n.bstore.PutMany(ctx, blks); err != nil {
		return fmt.Errorf("put blocks: %w", err)
	}
	n.stats.invalidate()
	return nil
}

// HasBlock reports whether the blockstore holds c (ipfs.BlockPutter).
func (n *Node) HasBlock(ctx context.Context, c cid.Cid) (bool, error) {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return false, err
	}
	defer done()
	return n.bstore.Has(ctx, c)
}

// ImportFiles chunks dir into dag exactly as Node.Add does (same layout, chunker, CIDs), for a
// caller that keeps the blocks elsewhere than an IPFS node: the cluster add chunks into a
// temporary spool on the receiving peer and streams the blocks to the allocations.
func ImportFiles(ctx context.Context, dag format.DAGService, dir files.Directory, params api.AddParams, out ipfs.AddOutput) (api.Cid, error) {
	if err := params.Validate(); err != nil {
		return api.CidUndef, err
	}
	a, err := newAdder(ctx, dag, params, out)
	if err != nil {
		return api.CidUndef, err
	}
	root, err := a.addTop(dir)
	if err != nil {
		return api.CidUndef, err
	}
	if err := a.dag.Commit(); err != nil {
		return api.CidUndef, fmt.Errorf("add: store blocks: %w", err)
	}
	return api.NewCid(root.Cid()), nil
}

// ReadCAR decodes a CAR stream as Node.ImportCAR does (every block verified, exactly one root
// that the CAR carries), handing each block to put, and returns the root. Every decoding
// problem is an error wrapping ipfs.ErrBadCAR.
func ReadCAR(ctx context.Context, r io.Reader, put func(blocks.Block) error) (api.Cid, error) {
	roots, err := readCAR(ctx, r, put, true)
	if err != nil {
		return api.CidUndef, err
	}
	return api.NewCid(roots[0]), nil
}
