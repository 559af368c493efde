package cluster

import (
	"context"
	"fmt"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/sharding"
)

// blockReader is what a sharded DAG's unpin and status need beyond Deps.IPFS: the cluster-DAG
// node's bytes from this peer's IPFS node, which holds it pinned (every peer pins it direct)
// or fetches it. Both real backends have it (embedded: the block service; kubo: block/get).
type blockReader interface {
	GetBlock(ctx context.Context, c api.Cid) ([]byte, error)
}

// blockReaderOf finds the blockReader of an IPFS dependency, looking through wrappers.
func blockReaderOf(x any) blockReader {
	for x != nil {
		if r, ok := x.(blockReader); ok {
			return r
		}
		w, ok := x.(ipfs.Wrapper)
		if !ok {
			return nil
		}
		x = w.Unwrap()
	}
	return nil
}

// shardsOf reads the shards of a meta-pin from its cluster-DAG: the cluster-DAG's CID and
// the shard CIDs in order.
func shardsOf(ctx context.Context, d Deps, meta api.Pin) (api.Cid, []api.Cid, error) {
	if meta.Reference == nil || !meta.Reference.Defined() {
		return api.CidUndef, nil, fmt.Errorf("meta-pin %s has no cluster-DAG reference", meta.Cid)
	}
	dag := *meta.Reference
	r := blockReaderOf(d.IPFS)
	if r == nil {
		return dag, nil, fmt.Errorf("%w: this peer's IPFS backend cannot read blocks, so it cannot find the shards of %s", api.ErrUnavailable, meta.Cid)
	}
	ctx, cancel := context.WithTimeout(ctx, RPCTimeout)
	defer cancel()
	raw, err := r.GetBlock(ctx, dag)
	if err != nil {
		return dag, nil, fmt.Errorf("reading the cluster-DAG %s of %s from this peer's IPFS node: %w", dag, meta.Cid, err)
	}
	links, err := sharding.Links(raw)
	if err != nil {
		return dag, nil, fmt.Errorf("cluster-DAG %s of %s: %w", dag, meta.Cid, err)
	}
	out := make([]api.Cid, len(links))
	for i, l := range links {
		out[i] = api.NewCid(l)
	}
	return dag, out, nil
}
