package statusdigest

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/internal/syncbuf"
	"github.com/pincluster/pincluster/internal/testpeer"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// TestRateLimitPerPeer: a peer gets its burst at once and Rate per second after; a flooding
// peer does not take another's budget.
func TestRateLimitPerPeer(t *testing.T) {
	r := newReplicas(Config{Rate: 10, Burst: 5})
	flood, quiet := peer.ID("flood"), peer.ID("quiet")
	now := time.Unix(1000, 0)
	taken := 0
	for range 100 {
		if r.take(flood, now) {
			taken++
		}
	}
	if taken != 5 {
		t.Fatalf("a burst of 100 took %d, want the burst of 5", taken)
	}
	if !r.take(quiet, now) {
		t.Fatal("a quiet peer was limited by another's flood")
	}
	now = now.Add(time.Second)
	taken = 0
	for range 100 {
		if r.take(flood, now) {
			taken++
		}
	}
	if taken != 5 { // refilled 10, capped by the burst
		t.Fatalf("after a second took %d, want 5", taken)
	}
	now = now.Add(200 * time.Millisecond)
	if !r.take(flood, now) || !r.take(flood, now) || r.take(flood, now) {
		t.Fatal("200ms at 10/s should allow exactly 2")
	}
}

// countingReplicas counts the digests the actor applies to the replica (a run of deltas as
// its deltas).
type countingReplicas struct {
	*memStore
	mu      sync.Mutex
	applied map[peer.ID]int
}

func (c *countingReplicas) ApplyDigest(p peer.ID, d sd.Digest, _ time.Time) (sd.Meta, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied[p]++
	return sd.Meta{Epoch: d.Epoch, Contiguous: d.Seq, Heard: d.Seq}, nil // current: no pull
}

// ApplyDeltas counts each delta of a run.
func (c *countingReplicas) ApplyDeltas(p peer.ID, r *sd.Run, _ time.Time) (sd.Meta, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied[p] += len(r.Seqs)
	last := slices.Max(r.Seqs)
	return sd.Meta{Epoch: r.Epoch, Contiguous: last, Heard: last}, nil
}

func (c *countingReplicas) count(p peer.ID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applied[p]
}

// everyone trusts every peer and has removed none.
type everyone struct{}

func (everyone) Allowed(peer.ID) bool   { return true }
func (everyone) IsRemoved(peer.ID) bool { return false }

// TestFloodingPeerIsLimitedAndLogged goes through the actor, as the gossip reader hands digests
// over: a peer flooding digests gets its burst applied and the rest dropped, with one warning
// naming it however many are dropped; a quiet peer's digest still goes in. (QA: only the token
// bucket was tested.)
func TestFloodingPeerIsLimitedAndLogged(t *testing.T) {
	store := &countingReplicas{memStore: newMemStore(), applied: map[peer.ID]int{}}
	cfg := Default()
	cfg.Rate, cfg.Burst = 0.001, 5 // no refill within the test
	logs := &syncbuf.Buffer{}
	system, pid := spawnLogged(t, Deps{Store: store, Topic: topicFunc(func([]byte) {}), Local: localPass{}, Config: cfg, Members: everyone{}},
		slog.New(slog.NewTextHandler(logs, nil)))
	flood, quiet := testpeer.ID(t, 2), testpeer.ID(t, 3)
	for i := range 200 {
		system.Root.Send(pid, received{from: flood, d: sd.Digest{Epoch: 1, Seq: uint64(i + 1)}})
	}
	system.Root.Send(pid, received{from: quiet, d: sd.Digest{Epoch: 1, Seq: 1}})
	if !poll.Until(10*time.Second, time.Millisecond, func() bool { return store.count(quiet) == 1 }) {
		t.Fatal("the quiet peer's digest was not applied")
	}
	if n := store.count(flood); n != cfg.Burst {
		t.Fatalf("%d of the flooding peer's 200 digests applied, want its burst of %d", n, cfg.Burst)
	}
	if n := strings.Count(logs.String(), "a peer floods status digests"); n != 1 || !strings.Contains(logs.String(), flood.String()) {
		t.Fatalf("%d flood warnings, want 1 naming the peer; log:\n%s", n, logs.String())
	}
}
