package pinset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// memStore is a Store that records every Apply; block, when set, holds Apply until closed;
// applying, when set, is told of each Apply before it blocks (a test waits for a commit to be
// in its write).
// Every op wins: it creates the CID's record the first time the CID is seen.
type memStore struct {
	mu       sync.Mutex
	batches  [][]crdt.Op
	last     map[peer.ID]uint64
	seen     map[string]bool // CIDs with a record
	fail     error
	block    chan struct{}
	applying chan struct{}
	// records are what Get answers (the tests of conditional changes set them).
	records map[string]persistence.Record
}

func (s *memStore) Get(c api.Cid) (persistence.Record, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[c.KeyString()]
	return r, ok, nil
}

func (s *memStore) Apply(ops []crdt.Op) ([]crdt.Effect, error) {
	if s.applying != nil {
		select {
		case s.applying <- struct{}{}:
		default: // nobody waits for this one
		}
	}
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	s.batches = append(s.batches, ops)
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	changed := make([]crdt.Effect, len(ops))
	for i, op := range ops {
		changed[i] = crdt.Replaced
		if !s.seen[op.Cid.KeyString()] {
			s.seen[op.Cid.KeyString()], changed[i] = true, crdt.Created
		}
		if op.Seq > s.last[op.Origin] {
			s.last[op.Origin] = op.Seq
		}
	}
	return changed, nil
}

func (s *memStore) LastSeq(origin peer.ID) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[origin], nil
}

// Applied is LastSeq: the tests apply no op after a gap.
func (s *memStore) Applied(origin peer.ID) (uint64, error) { return s.LastSeq(origin) }

func (s *memStore) MaxClock() (crdt.HLC, error) { return 0, nil }

func testPeer(t *testing.T) peer.ID {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(priv)
	return id
}

func testPin(i int) api.Pin {
	h, _ := mh.Sum([]byte(fmt.Sprint("pin", i)), mh.SHA2_256, -1)
	return api.NewPin(api.NewCid(gocid.NewCidV1(gocid.Raw, h)), api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
}

func spawn(t *testing.T, store *memStore) (*Pinset, peer.ID) {
	t.Helper()
	return spawnIn(t, actor.NewActorSystem(), store, nil)
}

func spawnIn(t *testing.T, sys *actor.ActorSystem, store *memStore, subs []*actor.PID) (*Pinset, peer.ID) {
	t.Helper()
	self := testPeer(t)
	if store.last == nil {
		store.last = map[peer.ID]uint64{}
	}
	p, err := Spawn(sys.Root, self, store, crdt.NewClock(nil), subs, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p, self
}

// TestCommitNumbersOpsAndGroupsWrites: concurrent commits get distinct, gap-free seqs and
// increasing clocks, and requests arriving during a write share the next one (group commit).
func TestCommitNumbersOpsAndGroupsWrites(t *testing.T) {
	store := &memStore{block: make(chan struct{})}
	var mu sync.Mutex
	var notified int
	sys := actor.NewActorSystem()
	subs := subscriber(t, sys, func(ev messages.PinsetChanged) {
		mu.Lock()
		notified += len(ev.Ops)
		mu.Unlock()
		if !ev.Local || len(ev.Pins) != len(ev.Ops) {
			t.Errorf("local change without decoded pins: %+v", ev)
		}
	})
	p, self := spawnIn(t, sys, store, subs)
	const n = 50
	var wg sync.WaitGroup
	seqs := make(chan uint64, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ops, err := p.Commit(context.Background(), messages.Change{Kind: crdt.OpPin, Pin: testPin(i)})
			if err != nil || len(ops) != 1 {
				t.Errorf("commit %d: %v %v", i, ops, err)
				return
			}
			seqs <- ops[0].Seq
		}(i)
	}
	time.AfterFunc(500*time.Millisecond, func() { close(store.block) }) // ample time for the three to queue
	wg.Wait()
	close(seqs)
	seen := map[uint64]bool{}
	for s := range seqs {
		seen[s] = true
	}
	for s := uint64(1); s <= n; s++ {
		if !seen[s] {
			t.Fatalf("seq %d missing: %v", s, seen)
		}
	}
	store.mu.Lock()
	batches := len(store.batches)
	var prev crdt.HLC
	for _, b := range store.batches {
		for _, op := range b {
			if op.Origin != self || op.Clock <= prev && op.Seq > 1 {
				t.Fatalf("bad op %+v after clock %d", op, prev)
			}
			prev = max(prev, op.Clock)
		}
	}
	store.mu.Unlock()
	if batches >= n {
		t.Fatalf("%d writes for %d concurrent commits: no group commit", batches, n)
	}
	settle(t, sys, subs)
	mu.Lock()
	defer mu.Unlock()
	if notified != n {
		t.Fatalf("listener saw %d ops, want %d", notified, n)
	}
}

// TestCommitFailureIsReportedAndSeqsStayContiguous: a failed write fails its requests, and the
// next commit continues right after what is stored.
func TestCommitFailureIsReportedAndSeqsStayContiguous(t *testing.T) {
	store := &memStore{}
	p, _ := spawn(t, store)
	ctx := context.Background()
	if _, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(1)}); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.fail = errors.New("disk full")
	store.mu.Unlock()
	if _, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(2)}); err == nil {
		t.Fatal("a failed write was acknowledged")
	}
	store.mu.Lock()
	store.fail = nil
	store.mu.Unlock()
	ops, err := p.Commit(ctx, messages.Change{Kind: crdt.OpUnpin, Pin: testPin(1)})
	if err != nil {
		t.Fatal(err)
	}
	if ops[0].Seq != 2 {
		t.Fatalf("seq after a failed write = %d, want 2 (no gap)", ops[0].Seq)
	}
}

// TestRemoteOpsOfOurOwnOriginAdvanceNumbering: ops of this peer pulled back from others (after
// its state was cleaned) are never numbered again.
func TestRemoteOpsOfOurOwnOriginAdvanceNumbering(t *testing.T) {
	store := &memStore{}
	p, self := spawn(t, store)
	ctx := context.Background()
	old := testPin(7)
	if err := p.ApplyRemoteWait(ctx, []crdt.Op{{Origin: self, Seq: 41, Clock: 5, Kind: crdt.OpPin, Cid: old.Cid, PinJSON: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	ops, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(8)})
	if err != nil {
		t.Fatal(err)
	}
	if ops[0].Seq != 42 {
		t.Fatalf("seq = %d, want 42", ops[0].Seq)
	}
}

// A failed write does not take numbering back below our own ops seen coming back: the one
// pulled here was not written (the write failed) but others hold it, and its seq is taken.
func TestFailedWriteKeepsNumberingAfterOwnOpsSeen(t *testing.T) {
	store := &memStore{}
	p, self := spawn(t, store)
	ctx := context.Background()
	store.mu.Lock()
	store.fail = errors.New("disk full")
	store.mu.Unlock()
	old := testPin(7)
	if err := p.ApplyRemoteWait(ctx, []crdt.Op{{Origin: self, Seq: 41, Clock: 5, Kind: crdt.OpPin, Cid: old.Cid, PinJSON: []byte(`{}`)}}); err == nil {
		t.Fatal("the failed write of a pulled op was acknowledged")
	}
	store.mu.Lock()
	store.fail = nil
	store.mu.Unlock()
	ops, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(8)})
	if err != nil {
		t.Fatal(err)
	}
	if ops[0].Seq != 42 {
		t.Fatalf("seq after a failed write = %d, want 42 (after our op 41, which others hold)", ops[0].Seq)
	}
}

// TestCommitHonoursContext: a commit whose context ended reports a timeout, not a hang.
func TestCommitHonoursContext(t *testing.T) {
	store := &memStore{block: make(chan struct{})}
	defer close(store.block)
	p, _ := spawn(t, store)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(1)}); !errors.Is(err, api.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a timeout", err)
	}
}

// partialStore commits the first chunk of a batch and fails the rest, as Store.Apply does
// when a later chunk fails.
type partialStore struct {
	memStore
	commit  int
	entered chan struct{} // closed when the first Apply starts
	once    sync.Once
}

func (s *partialStore) Apply(ops []crdt.Op) ([]crdt.Effect, error) {
	s.once.Do(func() { close(s.entered) })
	n := min(s.commit, len(ops))
	changed, err := s.memStore.Apply(ops[:n])
	if err != nil || n == len(ops) {
		return changed, err
	}
	return changed, errors.New("disk full after the first chunk")
}

// TestPartialWriteAcknowledgesWhatCommitted: requests whose ops were stored before a chunk failed
// are acknowledged and announced; the others fail.
func TestPartialWriteAcknowledgesWhatCommitted(t *testing.T) {
	store := &partialStore{memStore: memStore{block: make(chan struct{}), last: map[peer.ID]uint64{}}, commit: 2, entered: make(chan struct{})}
	var mu sync.Mutex
	announced := 0
	self := testPeer(t)
	sys := actor.NewActorSystem()
	subs := subscriber(t, sys, func(ev messages.PinsetChanged) {
		mu.Lock()
		announced += len(ev.Ops)
		mu.Unlock()
	})
	p, err := Spawn(sys.Root, self, store, crdt.NewClock(nil), subs, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { // this write is held, so the next three requests share one batch
		_, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(100)})
		first <- err
	}()
	<-store.entered
	results := make(chan error, 3)
	time.AfterFunc(500*time.Millisecond, func() { close(store.block) }) // ample time for the three to queue
	for i := 0; i < 3; i++ {
		go func(i int) {
			_, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(i)})
			results <- err
		}(i)
	}
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}
	ok, failed := 0, 0
	for i := 0; i < 3; i++ {
		if <-results == nil {
			ok++
		} else {
			failed++
		}
	}
	if ok != 2 || failed != 1 {
		t.Fatalf("%d acknowledged, %d failed; want 2 and 1", ok, failed)
	}
	settle(t, sys, subs)
	mu.Lock()
	defer mu.Unlock()
	if announced != 3 { // the first write's op and the two committed ones
		t.Fatalf("announced %d ops, want 3", announced)
	}
}

// TestChangesTellCreatedRecords: the events carry, per op, whether it made its CID's first
// record (the store's crdt.Created), local and remote alike, in step with Ops.
func TestChangesTellCreatedRecords(t *testing.T) {
	var mu sync.Mutex
	var created []bool
	sys := actor.NewActorSystem()
	subs := subscriber(t, sys, func(ev messages.PinsetChanged) {
		if len(ev.Created) != len(ev.Ops) {
			t.Errorf("%d ops, %d created flags", len(ev.Ops), len(ev.Created))
		}
		mu.Lock()
		created = append(created, ev.Created...)
		mu.Unlock()
	})
	p, _ := spawnIn(t, sys, &memStore{}, subs)
	ctx := context.Background()
	for _, i := range []int{1, 1} {
		if _, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(i)}); err != nil {
			t.Fatal(err)
		}
	}
	other := testPeer(t)
	for seq, i := range []int{2, 1} {
		op := crdt.Op{Origin: other, Seq: uint64(seq + 1), Clock: 5, Kind: crdt.OpPin, Cid: testPin(i).Cid, PinJSON: []byte(`{}`)}
		if err := p.ApplyRemoteWait(ctx, []crdt.Op{op}); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, sys, subs)
	mu.Lock()
	defer mu.Unlock()
	if want := []bool{true, false, true, false}; !slices.Equal(created, want) {
		t.Fatalf("created flags %v, want %v", created, want)
	}
}
