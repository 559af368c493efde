package cluster

import (
	"context"
	"fmt"
	"slices"

	blocks "github.com/ipfs/go-block-format"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/blockpush"
	"github.com/pincluster/pincluster/sharding"
)

// The pushes of a sharded add (shard_add.go): each shard to its peers, a failed peer replaced.

// pushShards pushes the shards one after the other (pushShard), updating a.places to the
// peers that hold each.
func (s *AddService) pushShards(ctx context.Context, sp *blockpush.Spool, a *shardedAdd, atLeast int, progress bool, out func(api.AddedOutput)) error {
	failed := map[peer.ID]error{}
	for i := range a.shards {
		part, err := sp.Part(a.shards[i].From, a.shards[i].To, a.nodes[i])
		if err != nil {
			return err
		}
		report := s.pushReporter(fmt.Sprintf("%s shard %d/%d", a.root, i+1, len(a.shards)), a.shards[i].Bytes, 1, progress, out)
		if err := s.pushShard(ctx, part, a, i, atLeast, failed, report); err != nil {
			return fmt.Errorf("add: shard %d of %d: %w; nothing was pinned", i+1, len(a.shards), err)
		}
	}
	return nil
}

// pushShard pushes shard i (its blocks and its node) to each of its allocations in parallel.
// A peer whose push fails is replaced, as a cluster add replaces a failed allocation, by
// another peer with room for the shard in the add's plan that does not hold it
// (sharding.Replace); with no replacement it is dropped while the shard keeps its minimum,
// otherwise the add fails naming it (the pushes in flight are cancelled). a.places[i] ends as
// the peers that hold the shard. failed collects the add's failed peers: a later shard planned
// on one is moved before its push instead of failing again.
func (s *AddService) pushShard(ctx context.Context, part blockpush.Source, a *shardedAdd, i int, atLeast int, failed map[peer.ID]error, report func(blockpush.Progress)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	node := a.nodes[i].Cid()
	results := make(chan pushResult)
	running := 0
	start := func(p peer.ID) {
		running++
		go func() {
			err := s.d.Blocks.Push(ctx, p, part, node, progressTo(ctx, results))
			select {
			case results <- pushResult{peer: p, err: err}:
			case <-ctx.Done():
			}
		}()
	}
	for _, p := range slices.Clone(a.places[i]) {
		if err, bad := failed[p]; bad {
			if err := s.replaceShardPeer(a, i, atLeast, p, err, failed); err != nil {
				return err
			}
		}
	}
	for _, p := range a.places[i] {
		start(p)
	}
	for running > 0 {
		var r pushResult
		select {
		case r = <-results:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.progress != nil {
			report(*r.progress)
			continue
		}
		running--
		if r.err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failed[r.peer] = r.err
		s.d.Log.Warn("add: pushing a shard to an allocation failed; replacing it", "shard", i+1, "peer", r.peer, "err", r.err)
		n := len(a.places[i])
		if err := s.replaceShardPeer(a, i, atLeast, r.peer, r.err, failed); err != nil {
			return err
		}
		if len(a.places[i]) == n { // replaced: the newcomer is last
			start(a.places[i][n-1])
		}
	}
	return nil
}

// replaceShardPeer takes the failed peer bad out of shard i's allocations and puts a
// replacement at the end, or leaves it out when none has room and the shard keeps atLeast peers;
// otherwise it fails naming bad and why (cause).
func (s *AddService) replaceShardPeer(a *shardedAdd, i int, atLeast int, bad peer.ID, cause error, failed map[peer.ID]error) error {
	a.places[i] = slices.DeleteFunc(slices.Clone(a.places[i]), func(p peer.ID) bool { return p == bad })
	exclude := make(map[peer.ID]bool, len(failed))
	for p := range failed {
		exclude[p] = true
	}
	next, err := sharding.Replace(a.charged, a.cands, a.places, i, exclude)
	switch {
	case err == nil:
		a.places[i] = append(a.places[i], next)
		return nil
	case len(a.places[i]) >= atLeast:
		s.d.Log.Warn("add: no replacement for a shard's failed allocation; going on with fewer", "shard", i+1, "peer", bad, "allocations", a.places[i], "why", err)
		return nil
	default:
		return fmt.Errorf("pushing to %s: %w; no other peer can take its place (%v)", s.d.Members.PeerName(bad), cause, err)
	}
}

// pushClusterDAG stores the cluster-DAG node on every member, where it is pinned direct. A
// member the push misses fetches the node over bitswap when it pins it; at least one must
// take it.
func (s *AddService) pushClusterDAG(ctx context.Context, dag blocks.Block) error {
	members := s.d.Members.Members(ctx)
	var firstErr error
	held := 0
	for _, p := range members {
		err := s.d.Blocks.Push(ctx, p, blockpush.Blocks{dag}, dag.Cid(), nil)
		if err == nil {
			held++
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.d.Log.Warn("add: pushing the cluster-DAG to a member failed; it will fetch it when it pins it", "peer", p, "err", err)
		if firstErr == nil {
			firstErr = err
		}
	}
	if held == 0 {
		return fmt.Errorf("add: no member took the cluster-DAG node %s: %w; nothing was pinned", dag.Cid(), firstErr)
	}
	return nil
}
