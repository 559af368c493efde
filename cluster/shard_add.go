package cluster

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"strconv"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/blockpush"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/sharding"
)

// A sharded add (add --shard, the model and its decisions in package sharding): the
// receiving peer chunks the input once into its spool, as a cluster add does (add_push.go);
// groups the spooled blocks into shards of at most shard-size bytes; places every shard from
// one snapshot of the freespace metric (failing before any byte moves when they do not all
// fit); pushes the shards one after the other, each to its allocations in parallel (one I/O
// worker per allocation reporting by message, so at most replication-max pushes run at once
// and memory stays one window per push); pushes the cluster-DAG node to every member; then
// commits every shard-pin, the clusterdag-pin and the meta-pin in one pinset change, so the
// pinset holds the whole sharded DAG or nothing of it. A peer whose push fails is replaced by
// another with room for that shard (pushShard); when none can take it the add fails, naming
// the peer and the reason, before anything is pinned; its blocks stay unpinned for IPFS GC.
//
// IPFS Cluster pins each shard as soon as it is full, while the next one is being chunked;
// pinning them all in one change at the end is what keeps a failed add from leaving some
// shards pinned (there is nothing to undo), at the price of the spool holding the whole DAG
// on the receiving peer's disk meanwhile (not in memory, and not in its IPFS node).

// shardNodeOverhead is charged per block on top of the block bytes when placing a shard: its
// link in the shard node (a 36-byte CID and its key), so a full peer is not overfilled.
const shardNodeOverhead = 48

// shardedAdd is one sharded add in progress.
type shardedAdd struct {
	root      api.Cid
	shards    []sharding.Range
	nodes     []blocks.Block       // the shard nodes, in order
	places    [][]peer.ID          // each shard's allocations
	dag       blocks.Block         // the cluster-DAG node
	rootShard int                  // the shard that holds the root block
	charged   []sharding.Range     // the shards as placed: block bytes plus their node
	cands     []sharding.Candidate // the freespace snapshot they were placed from
}

// addSharded runs a sharded add (see above).
func (s *AddService) addSharded(ctx context.Context, mr *multipart.Reader, car io.Reader, params api.AddParams, opts api.PinOptions, out func(api.AddedOutput)) (api.Cid, error) {
	if s.d.Blocks == nil {
		return api.CidUndef, fmt.Errorf("%w: this peer's IPFS backend cannot push blocks to other peers, so it cannot shard an add", api.ErrUnavailable)
	}
	opts.ApplyDefaults(s.d.Config.ReplicationFactorMin, s.d.Config.ReplicationFactorMax)
	if opts.ReplicationFactorMin == -1 {
		return api.CidUndef, fmt.Errorf("%w: a sharded add needs a replication factor (each shard's number of copies), not -1 (every peer would hold the whole DAG: add without --shard)", api.ErrInvalid)
	}
	sp, root, err := s.spoolInput(ctx, mr, car, params, out)
	if err != nil {
		return api.CidUndef, err
	}
	defer sp.Close()
	a, err := s.planShards(ctx, sp, root, params.ShardSize, opts)
	if err != nil {
		return root, err
	}
	start := time.Now()
	if err := s.pushShards(ctx, sp, a, opts.ReplicationFactorMin, params.Progress, out); err != nil {
		return root, err
	}
	if err := s.pushClusterDAG(ctx, a.dag); err != nil {
		return root, err
	}
	s.d.Log.Info("add: shards pushed", "cid", root, "shards", len(a.shards), "bytes", sp.Bytes(), "clusterdag", a.dag.Cid(), "took", time.Since(start))
	if err := s.commitSharded(ctx, a, opts); err != nil {
		return root, err
	}
	for i, n := range a.nodes {
		if err := s.waitPinnedOn(ctx, api.NewCid(n.Cid()), a.places[i], a.places[i]); err != nil {
			return root, &api.AfterPinError{Err: err}
		}
	}
	return root, nil
}

// planShards splits the spool into shards, builds their nodes and the cluster-DAG, and places
// them: every error here comes before any byte left this peer.
func (s *AddService) planShards(ctx context.Context, sp *blockpush.Spool, root api.Cid, size uint64, opts api.PinOptions) (*shardedAdd, error) {
	n := sp.Len()
	sizes := make([]int, n)
	cids := make([]cid.Cid, n)
	for i := range n {
		cids[i], sizes[i] = sp.Entry(i)
	}
	shards, err := sharding.Split(sizes, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	a := &shardedAdd{root: root, shards: shards}
	shardCids := make([]cid.Cid, len(shards))
	for i, r := range shards {
		nd, err := sharding.ShardNode(cids[r.From:r.To])
		if err != nil {
			return nil, err
		}
		a.nodes = append(a.nodes, nd)
		shardCids[i] = nd.Cid()
	}
	if a.dag, err = sharding.ClusterDAGNode(shardCids); err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	pos, ok := sp.Position(root.Cid)
	if !ok {
		return nil, fmt.Errorf("add: the root %s is not among the imported blocks", root)
	}
	for i, r := range shards {
		if pos >= r.From && pos < r.To {
			a.rootShard = i
		}
	}
	charged := make([]sharding.Range, len(shards))
	for i, r := range shards {
		charged[i] = r
		charged[i].Bytes += uint64(len(a.nodes[i].RawData())) + shardNodeOverhead
	}
	cands, err := s.shardCandidates(ctx)
	if err != nil {
		return nil, err
	}
	a.charged, a.cands = charged, cands
	a.places, err = sharding.Place(charged, cands, sharding.Want{Min: opts.ReplicationFactorMin, Max: opts.ReplicationFactorMax, Preferred: opts.UserAllocations})
	if err != nil {
		return nil, fmt.Errorf("%w: add: %d bytes in %d shards of at most %d bytes cannot be placed: %v; nothing was pushed or pinned",
			api.ErrInsufficientStorage, sp.Bytes(), len(shards), size, err)
	}
	return a, nil
}

// shardCandidates are the members with a valid freespace metric and their free space.
func (s *AddService) shardCandidates(ctx context.Context) ([]sharding.Candidate, error) {
	ms, err := s.d.Metrics.Latest(ctx, "freespace")
	if err != nil {
		return nil, fmt.Errorf("add: reading the freespace metrics to place the shards: %w", err)
	}
	members := map[peer.ID]bool{}
	for _, p := range s.d.Members.Members(ctx) {
		members[p] = true
	}
	var out []sharding.Candidate
	for _, m := range ms {
		if !m.Valid || !members[m.Peer] || s.d.Members.IsRemoved(m.Peer) {
			continue
		}
		free, err := strconv.ParseUint(m.Value, 10, 64)
		if err != nil {
			continue // not a byte count: this peer cannot be planned
		}
		out = append(out, sharding.Candidate{Peer: m.Peer, Free: free})
	}
	return out, nil
}

// commitSharded pins every shard, the cluster-DAG and the meta-pin in one pinset change.
func (s *AddService) commitSharded(ctx context.Context, a *shardedAdd, opts api.PinOptions) error {
	for _, g := range s.d.Gates { // a long push may have filled the queues
		if err := g.Full(); err != nil {
			return err
		}
	}
	// The root already pinned: a meta-pin is replaced only by the same sharding (the same
	// cluster-DAG, so the same shards: an add run again), never by another (its shards and
	// cluster-DAG would be left behind, pinned and unremovable); a plain pin's Pinning Service
	// API requests go to the meta-pin (api.KeepRequests; none to the shards).
	existing, found, err := s.d.Store.GetPin(a.root)
	if err != nil {
		return err
	}
	same := existing.Type == api.PinTypeMeta && existing.Reference != nil && existing.Reference.Cid.Equals(a.dag.Cid())
	if found && existing.TypeOrData() != api.PinTypeData && !same {
		return api.RefuseRepinSharded(existing)
	}
	opts.Metadata = api.KeepRequests(nil, opts.Metadata)
	metaMeta := api.KeepRequests(existing.Metadata, opts.Metadata)
	if err := (api.PinOptions{Name: opts.Name, Metadata: metaMeta}).ValidateLimits(); err != nil {
		return err
	}
	now := time.Now().UTC()
	name := opts.Name
	if name == "" {
		name = a.root.String()
	}
	changes := make([]messages.Change, 0, len(a.nodes)+2)
	var prev *api.Cid
	for i, n := range a.nodes {
		o := opts
		o.Name = fmt.Sprintf("%s-shard-%d", name, i)
		o.UserAllocations = nil
		p := api.NewPin(api.NewCid(n.Cid()), o)
		p.Type, p.MaxDepth, p.Reference = api.PinTypeShard, 1, prev
		p.Allocations = a.places[i]
		p.Timestamp = now
		changes = append(changes, messages.Change{Kind: crdt.OpPin, Pin: p})
		c := p.Cid
		prev = &c
	}
	dagOpts := opts
	dagOpts.Name = name + "-clusterDAG"
	dagOpts.ReplicationFactorMin, dagOpts.ReplicationFactorMax = -1, -1
	dagOpts.UserAllocations = nil
	dagOpts.Mode = api.PinModeDirect
	dagPin := api.NewPin(api.NewCid(a.dag.Cid()), dagOpts)
	dagPin.Type = api.PinTypeClusterDAG
	root := a.root
	dagPin.Reference = &root
	dagPin.Timestamp = now
	metaOpts := opts
	metaOpts.Mode = api.PinModeDirect // the root block only, where its shard is (package sharding)
	metaOpts.UserAllocations = nil
	metaOpts.Metadata = metaMeta
	meta := api.NewPin(a.root, metaOpts)
	meta.Type = api.PinTypeMeta
	dagCid := dagPin.Cid
	meta.Reference = &dagCid
	meta.Allocations = a.places[a.rootShard]
	meta.Timestamp = now
	changes = append(changes, messages.Change{Kind: crdt.OpPin, Pin: dagPin}, messages.Change{Kind: crdt.OpPin, Pin: meta})
	if _, err := s.d.Pinset.Commit(ctx, changes...); err != nil {
		return fmt.Errorf("add: pinning the shards: %w", err)
	}
	return nil
}
