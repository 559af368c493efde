package batcher

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

type recorder struct {
	mu       sync.Mutex
	batches  []crdt.Batch
	marks    []uint64
	fail     error
	failures int
	block    chan struct{}
}

func (r *recorder) Publish(ctx context.Context, data []byte) error {
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b, err := crdt.UnmarshalBatch(data)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		r.failures++
		return r.fail
	}
	r.batches = append(r.batches, b)
	return nil
}

func (r *recorder) SetPublished(_ peer.ID, seq uint64) error {
	r.mu.Lock()
	r.marks = append(r.marks, seq)
	r.mu.Unlock()
	return nil
}

func (r *recorder) snapshot() ([]crdt.Batch, []uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]crdt.Batch(nil), r.batches...), append([]uint64(nil), r.marks...)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func setup(t *testing.T, cfg Config, rec *recorder) (*Batcher, peer.ID) {
	t.Helper()
	priv, _, _ := crypto.GenerateEd25519Key(nil)
	id, _ := peer.IDFromPrivateKey(priv)
	b, err := Spawn(actor.NewActorSystem().Root, id, cfg, rec, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b, id
}

func ops(origin peer.ID, from, n int) []crdt.Op {
	out := make([]crdt.Op, n)
	for i := range out {
		h, _ := mh.Sum([]byte{byte(from + i)}, mh.SHA2_256, -1)
		out[i] = crdt.Op{Origin: origin, Seq: uint64(from + i), Clock: crdt.HLC(from + i), Kind: crdt.OpUnpin,
			Cid: api.NewCid(gocid.NewCidV1(gocid.Raw, h))}
	}
	return out
}

func TestBatchesBySizeAndAgeAreMarked(t *testing.T) {
	rec := &recorder{}
	b, id := setup(t, Config{MaxBatchSize: 10, MaxBatchAge: 50 * time.Millisecond, MaxQueueSize: 100}, rec)
	// 25 ops: two full batches at once, the last 5 when max_batch_age passes.
	for i := 1; i <= 25; i++ {
		b.Publish(ops(id, i, 1))
	}
	eventually(t, "three batches", func() bool { bs, _ := rec.snapshot(); return len(bs) == 3 })
	bs, _ := rec.snapshot()
	if len(bs[0].Ops) != 10 || len(bs[1].Ops) != 10 || len(bs[2].Ops) != 5 {
		t.Fatalf("batch sizes %d %d %d", len(bs[0].Ops), len(bs[1].Ops), len(bs[2].Ops))
	}
	for _, batch := range bs {
		// Unsigned: the publisher authenticates the message (pubsub's signature, actors/gossip).
		if batch.Origin != id || len(batch.Signature) != 0 {
			t.Fatalf("batch of origin %s with a %d-byte signature, want %s and none", batch.Origin, len(batch.Signature), id)
		}
	}
	eventually(t, "published mark at 25", func() bool { _, m := rec.snapshot(); return len(m) > 0 && m[len(m)-1] == 25 })
	if b.Pending() != 0 {
		t.Fatalf("pending = %d after everything was published", b.Pending())
	}
}

func TestFullQueueIsAClearError(t *testing.T) {
	rec := &recorder{block: make(chan struct{})}
	b, id := setup(t, Config{MaxBatchSize: 1000, MaxBatchAge: time.Hour, MaxQueueSize: 5}, rec)
	b.Publish(ops(id, 1, 5))
	err := b.Full()
	if !errors.Is(err, api.ErrUnavailable) || !errors.Is(err, ErrQueueFull) || !strings.Contains(err.Error(), "consensus.crdt.batching.max_queue_size=5") {
		t.Fatalf("Full() = %v, want ErrUnavailable and ErrQueueFull naming the key", err)
	}
	close(rec.block)
}

// TestFailedPublishIsRetried: a failed publish keeps the mark and is retried until it works.
func TestFailedPublishIsRetried(t *testing.T) {
	rec := &recorder{fail: errors.New("no peers")}
	b, id := setup(t, Config{}, rec) // batching off: publish at once
	b.Publish(ops(id, 1, 3))
	eventually(t, "two failed attempts", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.failures >= 2
	})
	if _, marks := rec.snapshot(); len(marks) != 0 {
		t.Fatalf("published mark moved after a failed publish: %v", marks)
	}
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	eventually(t, "the batch published after the failure cleared", func() bool {
		bs, marks := rec.snapshot()
		return len(bs) == 1 && len(bs[0].Ops) == 3 && len(marks) == 1 && marks[0] == 3
	})
	if b.Pending() != 0 {
		t.Fatalf("pending = %d after the retry succeeded", b.Pending())
	}
}

// A commit larger than max_batch_size goes out whole (split only by size); small commits
// still make batches of max_batch_size.
func TestBulkCommitGoesOutWhole(t *testing.T) {
	rec := &recorder{}
	b, id := setup(t, Config{MaxBatchSize: 10, MaxBatchAge: time.Hour, MaxQueueSize: 1000}, rec)
	b.Publish(ops(id, 1, 3))   // small: waits for more
	b.Publish(ops(id, 4, 500)) // bulk: flushes the small ones, then goes out in one batch
	eventually(t, "two batches", func() bool { bs, _ := rec.snapshot(); return len(bs) == 2 })
	bs, _ := rec.snapshot()
	if len(bs[0].Ops) != 3 || len(bs[1].Ops) != 500 || bs[1].Ops[0].Seq != 4 {
		t.Fatalf("batch sizes %d, %d", len(bs[0].Ops), len(bs[1].Ops))
	}
	eventually(t, "published mark at 503", func() bool { _, m := rec.snapshot(); return len(m) > 0 && m[len(m)-1] == 503 })
}

// WaitRoom answers at once while half the queue is free, and once publishing drains it.
func TestWaitRoom(t *testing.T) {
	rec := &recorder{}
	b, id := setup(t, Config{MaxBatchSize: 1000, MaxBatchAge: time.Hour, MaxQueueSize: 100}, rec)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitRoom(ctx, 40); err != nil {
		t.Fatal(err)
	}
	b.Publish(ops(id, 1, 40)) // pending 40, waits for max_batch_age (an hour)
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if err := b.WaitRoom(short, 40); err == nil {
		t.Fatal("WaitRoom granted 40 more over half of max_queue_size=100")
	}
	done := make(chan error, 1)
	go func() { done <- b.WaitRoom(ctx, 40) }()
	b.Publish(ops(id, 41, 1001)) // bulk (over max_batch_size): everything goes out, the waiter is granted
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// unpublished is a fake store of own ops for republishing.
type unpublished struct {
	mu   sync.Mutex
	ops  []crdt.Op
	mark uint64
}

func (u *unpublished) Published(peer.ID) (uint64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.mark, nil
}
func (u *unpublished) LastSeq(peer.ID) (uint64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return uint64(len(u.ops)), nil
}
func (u *unpublished) OpsFrom(_ context.Context, _ peer.ID, from uint64, fn func(crdt.Op) error) error {
	u.mu.Lock()
	ops := append([]crdt.Op(nil), u.ops...)
	u.mu.Unlock()
	for _, op := range ops {
		if op.Seq >= from {
			if err := fn(op); err != nil {
				return err
			}
		}
	}
	return nil
}

// A crashed batcher is replaced by a fresh instance: the buffer of the crashed one is gone, the
// new one republishes from the published mark, every op goes out (those that became durable
// around the crash maybe twice: receivers drop what they hold) and nothing stays pending.
func TestCrashedBatcherRestartsFresh(t *testing.T) {
	system := actor.NewActorSystem()
	r, err := root.Spawn(system, root.Config{FaultHooks: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	priv, _, _ := crypto.GenerateEd25519Key(nil)
	id, _ := peer.IDFromPrivateKey(priv)
	rec := &recorder{}
	b, err := Spawn(r, id, Config{MaxBatchSize: 5, MaxBatchAge: 100 * time.Millisecond, MaxQueueSize: 100}, rec, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	store := &unpublished{}
	b.Republish(store, id, nil) // nothing to republish yet
	first := ops(id, 1, 3)
	store.mu.Lock()
	store.ops = append(store.ops, first...) // durable, then handed over, as the pinset does
	store.mu.Unlock()
	rec.mu.Lock()
	rec.block = make(chan struct{}) // the first batch stays in flight through the crash
	rec.mu.Unlock()
	b.Publish(first)
	// At least the three (the start's republish may have read them too: it runs beside this).
	eventually(t, "three ops pending", func() bool { return b.pending.Load() >= 3 })
	if err := r.Crash(context.Background(), "batcher"); err != nil {
		t.Fatal(err)
	}
	close(rec.block)
	more := ops(id, 4, 2)
	store.mu.Lock()
	store.ops = append(store.ops, more...)
	store.mu.Unlock()
	b.Publish(more)
	eventually(t, "every op published and nothing pending", func() bool {
		batches, _ := rec.snapshot()
		n := 0
		for _, bt := range batches {
			n += len(bt.Ops)
		}
		return n >= 5 && b.pending.Load() == 0
	})
	seen := map[uint64]int{}
	batches, _ := rec.snapshot()
	for _, bt := range batches {
		for _, op := range bt.Ops {
			seen[op.Seq]++
		}
	}
	for seq := uint64(1); seq <= 5; seq++ {
		if seen[seq] == 0 {
			t.Errorf("op %d never published (%v)", seq, seen)
		}
	}
}

// WaitPublished returns once every op the batcher was given before it is published, counting
// the ops of a PinsetChanged already in the actor's mailbox (a batch ingest calls it right after
// its last commit), and says how many still wait when the bound passes first.
func TestWaitPublished(t *testing.T) {
	rec := &recorder{block: make(chan struct{})}
	b, id := setup(t, Config{MaxBatchSize: 1000, MaxBatchAge: time.Hour, MaxQueueSize: 100000}, rec)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitPublished(ctx, time.Second); err != nil {
		t.Fatalf("nothing pending: %v", err)
	}
	b.system.Root.Send(b.PID(), messages.PinsetChanged{Local: true, Ops: ops(id, 1, 1001)}) // bulk: published at once, blocked
	err := b.WaitPublished(ctx, 100*time.Millisecond)
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "1001 ops still wait") {
		t.Fatalf("publish blocked: got %v, want the ops still waiting", err)
	}
	done := make(chan error, 1)
	go func() { done <- b.WaitPublished(ctx, 5*time.Second) }()
	close(rec.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if batches, _ := rec.snapshot(); len(batches) == 0 {
		t.Fatal("WaitPublished returned before the batch was published")
	}
}
