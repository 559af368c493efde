package sharding

import (
	"fmt"
	"sort"
	"strconv"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	cbor "github.com/ipfs/go-ipld-cbor"
	mh "github.com/multiformats/go-multihash"
)

// The nodes are dag-cbor maps from decimal positions to links, hashed with sha2-256, the
// format of IPFS Cluster's shard and cluster-DAG nodes.

// ShardNode builds the node of a shard from the CIDs of its blocks: each link is the CIDv1
// raw-codec CID of the block's multihash (see the package doc).
func ShardNode(members []cid.Cid) (blocks.Block, error) {
	links := make([]cid.Cid, len(members))
	for i, c := range members {
		links[i] = cid.NewCidV1(cid.Raw, c.Hash())
	}
	return mapNode(links)
}

// ClusterDAGNode builds the cluster-DAG from the shard nodes' CIDs, in order.
func ClusterDAGNode(shards []cid.Cid) (blocks.Block, error) {
	if len(shards) > MaxLinks {
		return nil, fmt.Errorf("%d shards are more than a cluster-DAG node links to (%d): raise the shard size", len(shards), MaxLinks)
	}
	return mapNode(shards)
}

func mapNode(links []cid.Cid) (blocks.Block, error) {
	m := make(map[string]cid.Cid, len(links))
	for i, c := range links {
		m[strconv.Itoa(i)] = c
	}
	n, err := cbor.WrapObject(m, mh.SHA2_256, -1)
	if err != nil {
		return nil, fmt.Errorf("building a shard node: %w", err)
	}
	return n, nil
}

// Links decodes a shard or cluster-DAG node (its bytes from an IPFS node: outside input) and
// returns its links in position order. Anything else, including a map whose keys are not the
// positions 0..n-1, is an error.
func Links(raw []byte) ([]cid.Cid, error) {
	var m map[string]cid.Cid
	if err := cbor.DecodeInto(raw, &m); err != nil {
		return nil, fmt.Errorf("not a shard node (a dag-cbor map of links): %w", err)
	}
	if len(m) > MaxLinks {
		return nil, fmt.Errorf("not a shard node: %d links, more than %d", len(m), MaxLinks)
	}
	keys := make([]int, 0, len(m))
	for k := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(m) || strconv.Itoa(i) != k {
			return nil, fmt.Errorf("not a shard node: key %q is not a position", k)
		}
		keys = append(keys, i)
	}
	sort.Ints(keys)
	out := make([]cid.Cid, len(keys))
	for _, i := range keys {
		c := m[strconv.Itoa(i)]
		if !c.Defined() {
			return nil, fmt.Errorf("not a shard node: link %d is undefined", i)
		}
		out[i] = c
	}
	return out, nil
}
