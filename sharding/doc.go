// Package sharding is the pure part of a sharded add (`add --shard --shard-size N`): how the
// blocks of a DAG are grouped into shards, where each shard goes, and the dag-cbor nodes that
// tie them together, as IPFS Cluster designed them (its adder/sharding, never finished there).
// cluster/shard_add.go runs it; this package does no I/O.
//
// The model (IPFS Cluster's names and pin types, api.PinType):
//
//	meta-pin        the root of the added DAG; reference: the cluster-DAG
//	  clusterdag-pin  a dag-cbor map {"0": shard0, "1": shard1, ...}; reference: the meta-pin;
//	    shard-pin     pinned direct (max_depth 0) on every peer
//	      blocks      a dag-cbor map {"0": block, "1": block, ...}; reference: the previous
//	                  shard; pinned with max_depth 1 on the shard's own allocations
//
// Decisions:
//   - Every block of the DAG (leaves and inner nodes, in the order the importer wrote them)
//     belongs to exactly one shard; a shard holds at most MaxBytes of blocks and MaxLinks
//     links (so its node stays one block, about 240 KB, under bitswap's limit; IPFS Cluster
//     builds indirect nodes past that, this package starts a new shard instead).
//   - A shard node links to its blocks through CIDv1 raw-codec CIDs of their multihashes,
//     not their own CIDs. IPFS nodes store blocks by multihash, so the link names the very
//     block; but a raw block has no links, so a recursive pin of the shard node holds exactly
//     the shard's blocks (max_depth 1) on any IPFS node, Kubo included, instead of walking
//     into the inner nodes' children, which live in other shards. The pin's max_depth says
//     1, as IPFS Cluster's does.
//   - Placement (Place) is decided for all shards at once, before any byte moves, from one
//     snapshot of the freespace metric minus what earlier shards of the same add take: the
//     published metrics do not see an add in progress, so asking the allocator shard by
//     shard would stack every shard on the same emptiest peers. A plan that cannot place
//     every shard fails the add before anything is pushed or pinned. A shard prefers peers
//     that do not hold the previous shard, then the most free space.
//   - The meta-pin's allocations are the peers of the shard holding the root block, pinned
//     direct (the root block only, which is already there). IPFS Cluster never pins the
//     meta-pin on IPFS; here the peers' trackers know pins only by allocations and mode, so
//     a meta-pin allocated nowhere would read as "every peer" to them. Pinning one block it
//     already holds costs nothing and keeps each tracker's status truthful.
//   - A peer whose push of a shard fails is replaced (Replace) by a peer with room for that
//     shard once the whole plan is charged, not holding it and not failed in this add: the
//     same snapshot, so a replacement never overfills a peer the plan already filled.
//   - A failed add pins nothing: every pin goes in one pinset change after every push
//     succeeded (cluster/shard_add.go), so there is nothing to roll back.
//
// Usage (cluster/shard_add.go):
//
//	ranges, err := sharding.Split(blockSizes, params.ShardSize)
//	node, _ := sharding.ShardNode(blockCids[r.From:r.To]) // one per range
//	dag, _ := sharding.ClusterDAGNode(shardNodeCids)
//	places, err := sharding.Place(ranges, candidates, sharding.Want{Min: 2, Max: 3})
//	// ... push, pin; later, for unpin and status:
//	shards, err := sharding.Links(clusterDAGBytes)
//	meta := sharding.Aggregate(metaStatus, shardStatuses)
package sharding
