package peer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/blockpush"
	"github.com/pincluster/pincluster/cluster"
	"github.com/pincluster/pincluster/cluster/rpcwire"
	"github.com/pincluster/pincluster/ipfs"
)

// The cluster add's block streaming: the server stores blocks trusted peers push into this
// peer's IPFS node; the pusher sends an add's blocks to its allocations, spooling them under
// <dir>/add-spool (the same filesystem as the peer's data, not a tmpfs).

// startBlockPush serves blockpush.ProtocolID and returns the pusher for the services. A
// backend that cannot store raw blocks (a wrapped or injected one) refuses pushes (the add
// replaces such an allocation or fails naming it) and keeps this peer's adds local (nil pusher).
func (p *Peer) startBlockPush() (*blockpush.Pusher, error) {
	put := ipfs.BlockPutterOf(p.ipfs)
	if put != nil {
		put = expectingPutter{BlockPutter: put, expect: p.tracker.Expect}
	}
	p.blockServer = blockpush.NewServer(p.host, put, rpcwire.AuthorizeBlockPush(p.roster.Trusted), p.log)
	if put == nil {
		return nil, nil
	}
	dir := filepath.Join(p.dir, "add-spool")
	// Spools left by adds a crash interrupted: no add runs yet.
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clearing the add spool directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("add spool directory: %w", err)
	}
	return blockpush.NewPusher(p.host, put, dir, p.log), nil
}

// blocksForServices is the pusher as the services take it: a nil interface when there is none.
func (p *Peer) blocksForServices() cluster.BlockPusher {
	if p.blockPusher == nil {
		return nil
	}
	return p.blockPusher
}

// expectingPutter tells the tracker the roots whose blocks it stored, pushed by another peer
// or by this peer's own add, so that their pin skips the tracker's queues (actors/tracker's
// express.go).
type expectingPutter struct {
	ipfs.BlockPutter
	expect func(api.Cid)
}

func (e expectingPutter) PutBlocks(ctx context.Context, root cid.Cid, blks []blocks.Block) error {
	err := e.BlockPutter.PutBlocks(ctx, root, blks)
	if err == nil {
		e.expect(api.NewCid(root))
	}
	return err
}
