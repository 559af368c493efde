package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/actors/allocator"
	"github.com/pincluster/pincluster/actors/batcher"
	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/actors/tracker"
	"github.com/pincluster/pincluster/cluster"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// Parts is Deps over a peer's parts: the pinset store, the allocator, the queues downstream
// of the pinset (the batcher's and the tracker's) and the pinset actor. The peer builds one for
// each batch; it is here, next to the contract, so the peer holds no ingest logic.
type Parts struct {
	Store     *persistence.Store
	Allocator *allocator.Allocator
	Batcher   *batcher.Batcher
	Tracker   *tracker.Tracker
	Pinset    *pinset.Pinset
	Replicas  Replicas
	Self      peer.ID
}

// Replicas says where this peer's ops are held (cluster.PeerService.AwaitReplicated).
type Replicas interface {
	AwaitReplicated(ctx context.Context, seq uint64, wait time.Duration) cluster.Replication
}

var _ Deps = Parts{}

func (d Parts) Snapshot() Snapshot { return d.Store.Snapshot() }

// Allocate asks the allocator actor for the whole chunk in one round trip (one ranking of its
// live metrics); pins with replication -1 need no allocation.
func (d Parts) Allocate(ctx context.Context, reqs []AllocRequest) ([][]peer.ID, []error, error) {
	allocs := make([][]peer.ID, len(reqs))
	errs := make([]error, len(reqs))
	var ask []allocator.Request
	var at []int
	for i, r := range reqs {
		if r.Opts.ReplicationFactorMin == -1 {
			allocs[i] = []peer.ID{}
			continue
		}
		ask = append(ask, allocator.Request{Cid: r.Cid, Min: r.Opts.ReplicationFactorMin, Max: r.Opts.ReplicationFactorMax,
			Current: r.Current, User: r.Opts.UserAllocations})
		at = append(at, i)
	}
	if len(ask) == 0 {
		return allocs, errs, nil
	}
	got, gotErrs, err := d.Allocator.AllocateMany(ctx, ask)
	if err != nil {
		return nil, nil, err
	}
	for k, i := range at {
		allocs[i], errs[i] = got[k], gotErrs[k]
	}
	return allocs, errs, nil
}

// Admit waits for room in the broadcast queue, and refuses when the tracker's queue is full.
func (d Parts) Admit(ctx context.Context, n int) error {
	if err := d.Batcher.WaitRoom(ctx, n); err != nil {
		return err
	}
	return d.Tracker.Full()
}

var _ broadcastWaiter = Parts{}

// WaitBroadcast is the broadcast backpressure of a chunk of unpins: it waits for room like
// Admit, but a queue still full after the batcher's bounded wait lets the unpins through, as
// it lets a single unpin through.
func (d Parts) WaitBroadcast(ctx context.Context, n int) error {
	if err := d.Batcher.WaitRoom(ctx, n); err != nil && !errors.Is(err, batcher.ErrQueueFull) {
		return err
	}
	return nil
}

// commitBound bounds one group commit of a batch when the request sets no deadline. The
// pinset's default (a minute) suits a single pin; a batch of millions writes while Badger
// compacts, and on a loaded machine one commit waited over a minute for a write stall at
// 1.6M pins (make bench-10m): a stalled store should slow the stream, not end it.
const commitBound = 15 * time.Minute

// flushBound bounds the wait for the broadcast at the end of a batch: past it, the batch is
// reported done (every line is durable here) and its last ops go out when publishing recovers.
const flushBound = 30 * time.Second

func (d Parts) Flush(ctx context.Context) error { return d.Batcher.WaitPublished(ctx, flushBound) }

// replicatedWait bounds the wait for the other members at the end of a batch: a member that
// lags more (a slow disk, a huge batch) is counted out and catches up as usual.
const replicatedWait = 15 * time.Second

// Replicated asks the members for this peer's ops up to its last seq (the batch's, and any
// single pin committed meanwhile).
func (d Parts) Replicated(ctx context.Context) (held, peers int) {
	seq, err := d.Store.LastSeq(d.Self)
	if err != nil || d.Replicas == nil {
		return 1, 1
	}
	r := d.Replicas.AwaitReplicated(ctx, seq, replicatedWait)
	return r.Held, r.Peers
}

func (d Parts) Commit(ctx context.Context, changes []messages.Change) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, commitBound)
		defer cancel()
	}
	if _, err := d.Pinset.Commit(ctx, changes...); err != nil {
		return fmt.Errorf("pinset commit: %w", err)
	}
	return nil
}
