package informer

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fakeSource struct{}

func (fakeSource) FreeSpace(context.Context) (uint64, error) { return 1234, nil }
func (fakeSource) NodePins() (int, bool)                     { return 7, true }
func (fakeSource) QueueLen() int                             { return 2 }
func (fakeSource) Addrs() []string                           { return []string{"/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2"} }

// fakeTopic reports each publish on a channel.
type fakeTopic struct{ published chan []api.Metric }

func (f fakeTopic) PublishMetrics(_ context.Context, ms []api.Metric) error {
	f.published <- ms
	return nil
}

func spawn(t *testing.T, interval time.Duration) (*actor.ActorSystem, *root.Root, *Informer, fakeTopic, chan api.Metric) {
	t.Helper()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := root.Spawn(system, root.Config{FaultHooks: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan api.Metric, 1024)
	sub := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(messages.MetricReceived); ok {
			got <- m.Metric
		}
	}))
	topic := fakeTopic{published: make(chan []api.Metric, 64)}
	inf, err := Spawn(r, Deps{Self: "self", Config: monitor.DefaultInformerConfig(), Interval: interval, Source: fakeSource{},
		Topic: topic, Subscribers: []*actor.PID{sub}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return system, r, inf, topic, got
}

// next waits for one publish on the topic.
func next(t *testing.T, topic fakeTopic) []api.Metric {
	t.Helper()
	select {
	case ms := <-topic.published:
		return ms
	case <-time.After(10 * time.Second):
		t.Fatal("no publish")
		return nil
	}
}

// The informer publishes at start, and PublishNow returns once the subscribers were sent this
// peer's metrics: freespace, pinqueue, numpin, the ping carrying the addresses, the tags.
func TestPublishAtStartAndOnRequest(t *testing.T) {
	_, _, inf, topic, got := spawn(t, time.Hour)
	first := next(t, topic)
	byName := map[string]api.Metric{}
	for _, m := range first {
		byName[m.Name] = m
	}
	if byName["freespace"].Value != "1234" || byName["numpin"].Value != "7" || byName["pinqueue"].Value != "2" ||
		byName["ping"].Value != "/ip4/127.0.0.1/tcp/1,/ip4/127.0.0.1/tcp/2" || byName["tag:group"].Value != "default" {
		t.Fatalf("metrics %+v", first)
	}
	if err := inf.PublishNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Subscribers were sent both rounds before PublishNow returned (the start publish may
	// have coalesced with the request: at least one full round). The subscriber handles them
	// in its own mailbox, so they reach the channel shortly after, not necessarily before.
	n := 0
	deadline := time.After(10 * time.Second)
	for n < len(first) {
		select {
		case m := <-got:
			if m.Peer != "self" || m.ReceivedAt == 0 {
				t.Fatalf("subscriber got %+v", m)
			}
			n++
		case <-deadline:
			t.Fatalf("subscribers got %d metrics, want at least %d", n, len(first))
		}
	}
}

// PublishSoon publishes about a second later (a new connection).
func TestPublishSoon(t *testing.T) {
	_, _, inf, topic, _ := spawn(t, time.Hour)
	for range warmup { // the start's publishes (the interval is an hour: none after)
		next(t, topic)
	}
	inf.PublishSoon()
	inf.PublishSoon() // coalesced with the first
	next(t, topic)
	select {
	case <-topic.published:
		t.Fatal("two PublishSoon published twice")
	case <-time.After(2 * soonDelay):
	}
}

// After a crash the fresh instance publishes at once (it keeps nothing of the old one).
func TestRestartPublishes(t *testing.T) {
	_, r, _, topic, _ := spawn(t, time.Hour)
	for range warmup {
		next(t, topic)
	}
	if err := r.Crash(context.Background(), ActorName); err != nil {
		t.Fatal(err)
	}
	next(t, topic)
	cs, _ := r.Children(context.Background())
	if len(cs) != 1 || cs[0].Restarts != 1 {
		t.Fatalf("children %+v", cs)
	}
}
