package allocator

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/messages"
)

// liveMetrics is a peer's ping and freespace, valid for ttl from now.
func liveMetrics(id string, free int64, ttl time.Duration) []api.Metric {
	exp := time.Now().Add(ttl).UnixNano()
	return []api.Metric{
		{Name: metricPing, Peer: peer.ID(id), Expire: exp, Valid: true},
		{Name: "freespace", Peer: peer.ID(id), Value: strconv.FormatInt(free, 10), Weight: free, Expire: exp, Valid: true},
	}
}

// fakeTopic hands out subscriptions fed by one channel.
type fakeTopic struct {
	mu   sync.Mutex
	subs int
	feed chan []api.Metric
}

func (f *fakeTopic) Subscribe() (MetricsSubscription, error) {
	f.mu.Lock()
	f.subs++
	f.mu.Unlock()
	return &fakeSub{feed: f.feed, done: make(chan struct{})}, nil
}

func (f *fakeTopic) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs
}

type fakeSub struct {
	feed chan []api.Metric
	once sync.Once
	done chan struct{}
}

func (s *fakeSub) Next(ctx context.Context) ([]api.Metric, error) {
	select {
	case ms := <-s.feed:
		return ms, nil
	case <-s.done:
		return nil, errors.New("cancelled")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *fakeSub) Cancel() { s.once.Do(func() { close(s.done) }) }

type removedList map[peer.ID]uint64

func (r removedList) Removed() (map[peer.ID]uint64, error) { return r, nil }

func spawnTree(t *testing.T, deps Deps) (*actor.ActorSystem, *root.Root, *Allocator) {
	t.Helper()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := root.Spawn(system, root.Config{FaultHooks: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Spawn(r, Config{AllocateBy: []string{"freespace"}}, deps, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return system, r, a
}

func send(system *actor.ActorSystem, a *Allocator, ms []api.Metric) {
	for _, m := range ms {
		system.Root.Send(a.PID(), messages.MetricReceived{Metric: m})
	}
}

func allocate(t *testing.T, a *Allocator, min, max int) ([]peer.ID, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.Allocate(ctx, testCid(t, min*10+max), api.PinOptions{ReplicationFactorMin: min, ReplicationFactorMax: max}, nil)
}

// Metrics delivered as messages are the allocator's candidates: the ranking follows them, a
// peer whose ping expired and a removed peer are excluded, and a removed peer's later metrics
// are ignored.
func TestActorAllocatesFromItsMetrics(t *testing.T) {
	system, _, a := spawnTree(t, Deps{Removed: removedList{"gone": 3}})
	send(system, a, liveMetrics("a", 10, time.Hour))
	send(system, a, liveMetrics("b", 20, time.Hour))
	send(system, a, liveMetrics("gone", 99, time.Hour)) // removed before start (store)
	got, err := allocate(t, a, 1, 2)
	if err != nil || !slices.Equal(got, ids("b", "a")) {
		t.Fatalf("got %v, %v; want [b a]", str(got), err)
	}
	send(system, a, liveMetrics("a", 30, time.Hour)) // a now has more space
	if got, _ := allocate(t, a, 1, 1); !slices.Equal(got, ids("a")) {
		t.Fatalf("after new metrics: got %v, want [a]", str(got))
	}
	dead := liveMetrics("c", 50, time.Hour)
	dead[0].Expire = time.Now().Add(-time.Second).UnixNano() // its ping expired: down
	send(system, a, dead)
	if got, _ := allocate(t, a, 1, 1); !slices.Equal(got, ids("a")) {
		t.Fatalf("a peer without a valid ping was chosen: %v", str(got))
	}
	system.Root.Send(a.PID(), messages.PeerRemoved{Peer: "a"})
	send(system, a, liveMetrics("a", 100, time.Hour)) // ignored for good
	if got, _ := allocate(t, a, 1, 2); !slices.Equal(got, ids("b")) {
		t.Fatalf("after removing a: got %v, want [b]", str(got))
	}
	if _, err := allocate(t, a, 2, 2); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	cands, err := a.Candidates(context.Background())
	if err != nil || !slices.Equal(cands, ids("b")) {
		t.Fatalf("Candidates = %v, %v", str(cands), err)
	}
	if got, err := a.Allocate(context.Background(), testCid(t, 1), api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1}, nil); err != nil || len(got) != 0 {
		t.Fatalf("replicate everywhere: %v, %v; want no allocations", str(got), err)
	}
}

// The allocator reads the metrics topic itself; after a crash the fresh instance subscribes
// again and starts from what the topic and the store say, not from the crashed one's table.
func TestActorSubscribesAndRestartsFresh(t *testing.T) {
	topic := &fakeTopic{feed: make(chan []api.Metric)}
	system, r, a := spawnTree(t, Deps{Metrics: topic})
	topic.feed <- liveMetrics("a", 10, time.Hour) // blocks until the reader takes it
	topic.feed <- liveMetrics("b", 20, time.Hour)
	waitCandidates(t, a, ids("a", "b"))
	if err := r.Crash(context.Background(), ActorName); err != nil {
		t.Fatal(err)
	}
	waitCandidates(t, a, nil) // fresh: empty table
	if n := topic.count(); n != 2 {
		t.Fatalf("%d subscriptions, want 2 (one per instance)", n)
	}
	topic.feed <- liveMetrics("b", 20, time.Hour)
	waitCandidates(t, a, ids("b"))
	_ = system
}

// waitCandidates asks until the candidates are want (messages from the reader are in flight).
func waitCandidates(t *testing.T, a *Allocator, want []peer.ID) {
	t.Helper()
	var got []peer.ID
	var err error
	if !poll.Until(10*time.Second, time.Millisecond, func() bool {
		got, err = a.Candidates(context.Background())
		return err == nil && slices.Equal(got, want)
	}) {
		t.Fatalf("candidates = %v (%v), want %v", str(got), err, str(want))
	}
}

// Time rules on the handlers directly (a fake clock): a metric expiring invalidates the
// ranking; a renewal that changes nothing does not rebuild it.
func TestActorRankingFollowsExpiry(t *testing.T) {
	now := time.Unix(1000, 0)
	a := newAllocatorActor(Config{AllocateBy: []string{"freespace"}}, Deps{}, quiet)
	a.now = func() time.Time { return now }
	put := func(id string, free int64, ttl time.Duration) {
		exp := now.Add(ttl).UnixNano()
		a.onMetric(api.Metric{Name: metricPing, Peer: peer.ID(id), Expire: exp})
		a.onMetric(api.Metric{Name: "freespace", Peer: peer.ID(id), Value: strconv.FormatInt(free, 10), Weight: free, Expire: exp})
	}
	put("a", 10, time.Minute)
	put("b", 20, time.Second)
	r1 := a.current()
	if got := r1.pool.ids(); len(got) != 2 {
		t.Fatalf("candidates %v", got)
	}
	put("a", 10, time.Minute) // renewal, nothing changed
	if a.current() != r1 {
		t.Fatal("an unchanged renewal rebuilt the ranking")
	}
	now = now.Add(2 * time.Second) // b expired
	if got := a.current().pool.ids(); !slices.Equal(got, ids("a")) {
		t.Fatalf("after b's expiry: %v, want [a]", str(got))
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// A fresh instance asks the monitor for the metrics it holds and answers allocations from them,
// without waiting for every peer to republish; allocations that arrive first wait for the answer.
func TestActorSeedsFromTheMonitor(t *testing.T) {
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := root.Spawn(system, root.Config{FaultHooks: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	table := map[peer.ID]map[string]api.Metric{}
	for _, id := range []string{"a", "b"} {
		table[peer.ID(id)] = map[string]api.Metric{}
		for _, m := range liveMetrics(id, int64(len(id)+int(id[0])), time.Hour) {
			table[peer.ID(id)][m.Name] = m
		}
	}
	mon := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(messages.AllMetricsRequest); ok {
			<-release // answer late: allocations must wait for it
			c.Respond(messages.AllMetricsResponse{Metrics: table})
		}
	}))
	a, err := Spawn(r, Config{AllocateBy: []string{"freespace"}}, Deps{Monitor: mon}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan []peer.ID, 1)
	go func() {
		got, _ := allocate(t, a, 2, 2)
		res <- got
	}()
	close(release)
	if got := <-res; !slices.Equal(got, ids("b", "a")) {
		t.Fatalf("first allocation: %v, want [b a] (from the monitor's table)", str(got))
	}
	if err := r.Crash(context.Background(), ActorName); err != nil {
		t.Fatal(err)
	}
	if got, err := allocate(t, a, 2, 2); err != nil || !slices.Equal(got, ids("b", "a")) {
		t.Fatalf("after a restart: %v, %v; want [b a]", str(got), err)
	}
}

// BenchmarkActorAllocate: allocations through the facade from the actor's own metrics (100
// peers in 5 regions, replication 3), as a REST pin does: one request/reply per decision, the
// ranking reused while no metric changes.
func BenchmarkActorAllocate(b *testing.B) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	a, err := Spawn(system.Root, Config{AllocateBy: []string{"tag:region", "freespace"}}, Deps{}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		id := peer.ID("peer" + strconv.Itoa(i))
		ms := liveMetrics(string(id), int64(1000+i*37%101), time.Hour)
		ms = append(ms, api.Metric{Name: TagPrefix + "region", Peer: id, Value: "r" + strconv.Itoa(i%5), Expire: ms[0].Expire, Valid: true})
		send(system, a, ms)
	}
	cids := make([]api.Cid, 1000)
	for i := range cids {
		cids[i] = testCid(b, i)
	}
	ctx := context.Background()
	opts := api.PinOptions{ReplicationFactorMin: 3, ReplicationFactorMax: 3}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got, err := a.Allocate(ctx, cids[i%len(cids)], opts, nil); err != nil || len(got) != 3 {
			b.Fatalf("%v %v", got, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// A restarted instance holds no metrics until peers republish (the monitor may have restarted
// too): within Deps.Warmup an allocation that finds too few peers waits for metrics instead of
// failing; after it, the shortage is reported. The first instance never waits.
func TestRestartedActorWaitsForMetrics(t *testing.T) {
	system, r, a := spawnTree(t, Deps{Warmup: time.Hour})
	if _, err := allocate(t, a, 1, 1); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("first instance: err = %v, want ErrUnavailable at once", err)
	}
	if err := r.Crash(context.Background(), ActorName); err != nil {
		t.Fatal(err)
	}
	type result struct {
		peers []peer.ID
		err   error
	}
	done := make(chan result, 1)
	go func() {
		p, err := allocate(t, a, 1, 1)
		done <- result{p, err}
	}()
	waitCandidates(t, a, nil) // the restarted instance answers, the allocation waits
	select {
	case res := <-done:
		t.Fatalf("allocation answered before any metric: %v, %v", str(res.peers), res.err)
	default:
	}
	send(system, a, liveMetrics("a", 10, time.Hour))
	res := <-done
	if res.err != nil || !slices.Equal(res.peers, ids("a")) {
		t.Fatalf("after a metric: %v, %v; want [a]", str(res.peers), res.err)
	}
}
