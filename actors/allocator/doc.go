// Package allocator decides which peers hold a pin (the allocation process).
//
// The decision is the pure function Allocate: it keeps existing allocations while at least
// replication_factor_min of them are alive, prefers local (add --local) and user allocations,
// and ranks the other candidates by allocate_by: "tag:NAME" metrics split peers into buckets
// (nested in allocate_by order) and picks spread across buckets; numeric metrics (freespace,
// pinqueue, numpin) order peers by Weight, higher first. Peers tied on every weight are
// ordered per pin by a rendezvous hash of the CID and the peer ID (rank.go), so equal peers
// share the pins evenly and every peer makes the same choice for a CID.
//
// The allocator actor keeps the metrics itself: each instance subscribes to the metrics topic
// (an I/O worker reads the subscription and sends each message's metrics to the actor), this
// peer's informer sends it its own, and the peer sends it messages.PeerRemoved. Candidates are
// the peers with a valid ping (a dead peer's other metrics may outlive its ping) that were not
// removed. Followers (peers whose metrics include a valid "follower" metric, published by a
// peer with cluster.follower_mode) are candidates for user allocations and keep allocations
// they hold, but the ranked choice never picks them: trusted peers allocate to a follower only
// when they ask for it (or pin everywhere, replication -1, which needs no allocation). The
// Ranking is rebuilt at the first Allocate after a metric changed or expired, so
// bulk pinning shares one ranking and unchanged renewals cost nothing. A restarted instance
// starts empty and rebuilds from the store (removed peers) and the topic (every peer
// republishes within a ping interval).
//
// # Usage
//
//	al, err := allocator.Spawn(parent, allocator.Default(), allocator.Deps{Metrics: topic, Removed: store}, logger)
//	peers, err := al.Allocate(ctx, c, pin.PinOptions, pin.Allocations)
package allocator
