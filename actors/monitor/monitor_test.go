package monitor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pincluster/pincluster/internal/poll"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

const waitLimit = 10 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// alertLog collects the alerts a subscriber actor receives.
type alertLog struct {
	mu     sync.Mutex
	alerts []api.Alert
}

func (l *alertLog) add(a api.Alert) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alerts = append(l.alerts, a)
}

func (l *alertLog) count(p peer.ID, name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.alerts {
		if a.Peer == p && a.Name == name {
			n++
		}
	}
	return n
}

func start(t *testing.T) (*Monitor, *alertLog) {
	t.Helper()
	system := actor.NewActorSystem()
	log := &alertLog{}
	m, err := Spawn(system.Root, "self", Config{CheckInterval: 5 * time.Millisecond, AlertHistory: 100}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	sub := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if r, ok := c.Message().(messages.AlertRaised); ok {
			log.add(r.Alert)
		}
	}))
	m.Subscribe(sub)
	t.Cleanup(func() { m.Stop(); system.Shutdown() })
	return m, log
}

func metric(p peer.ID, name string, ttl time.Duration) api.Metric {
	return api.Metric{Name: name, Peer: p, Value: "1", Weight: 1, Expire: time.Now().Add(ttl).UnixNano(), Valid: true}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll.Until(waitLimit, 2*time.Millisecond, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// settle publishes a short-lived sentinel metric and waits for its alert: every metric that
// expired before it has been checked by then.
func settle(t *testing.T, m *Monitor, log *alertLog, name string) {
	t.Helper()
	m.Publish(metric("sentinel", name, 20*time.Millisecond))
	waitFor(t, "the sentinel alert", func() bool { return log.count("sentinel", name) == 1 })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return c
}

func TestMetricsStoredAndListed(t *testing.T) {
	m, _ := start(t)
	before := time.Now().UnixNano()
	m.Publish(metric("b", "freespace", time.Hour))
	m.Publish(metric("a", "freespace", time.Hour))
	m.Publish(metric("a", "ping", time.Hour))
	old := metric("c", "numpin", -time.Second) // expired on arrival
	m.Publish(old)

	got, err := m.Latest(ctx(t), "freespace")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Peer != "a" || got[1].Peer != "b" {
		t.Fatalf("Latest(freespace) = %+v, want a then b", got)
	}
	for _, x := range got {
		if !x.Valid || x.ReceivedAt < before {
			t.Fatalf("metric %+v: want Valid and ReceivedAt set", x)
		}
	}
	if got, _ := m.Latest(ctx(t), "numpin"); len(got) != 0 {
		t.Fatalf("expired-on-arrival metric listed: %+v", got)
	}
	all, err := m.LatestAll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || len(all["a"]) != 2 || len(all["b"]) != 1 || all["c"] != nil {
		t.Fatalf("LatestAll = %v", all)
	}
	names, err := m.Names(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"freespace", "numpin", "ping"}; !slices.Equal(names, want) {
		t.Fatalf("Names = %v, want %v", names, want)
	}
}

func TestExpiryRaisesExactlyOneAlert(t *testing.T) {
	m, log := start(t)
	m.Publish(metric("a", "ping", 20*time.Millisecond))
	waitFor(t, "the alert for a", func() bool { return log.count("a", "ping") >= 1 })
	settle(t, m, log, "ping")
	if n := log.count("a", "ping"); n != 1 {
		t.Fatalf("%d alerts sent for a, want 1", n)
	}
	alerts, err := m.Alerts(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 2 || alerts[0].Peer != "a" || alerts[1].Peer != "sentinel" {
		t.Fatalf("Alerts = %+v, want a then sentinel", alerts)
	}
	if alerts[0].Valid || alerts[0].TriggeredAt < alerts[0].Expire {
		t.Fatalf("alert %+v: want an invalid metric triggered after its expiry", alerts[0])
	}
	if got, _ := m.Latest(ctx(t), "ping"); len(got) != 0 {
		t.Fatalf("expired metrics listed: %+v", got)
	}
}

func TestRenewal(t *testing.T) {
	m, log := start(t)
	t.Run("renewed before expiry: no alert", func(t *testing.T) {
		m.Publish(metric("a", "freespace", 20*time.Millisecond))
		m.Publish(metric("a", "freespace", time.Hour))
		settle(t, m, log, "renew1")
		if n := log.count("a", "freespace"); n != 0 {
			t.Fatalf("%d alerts for a renewed metric", n)
		}
	})
	t.Run("fresh metric after an alert can alert again", func(t *testing.T) {
		m.Publish(metric("b", "ping", 20*time.Millisecond))
		waitFor(t, "first alert", func() bool { return log.count("b", "ping") == 1 })
		m.Publish(metric("b", "ping", 20*time.Millisecond))
		waitFor(t, "second alert", func() bool { return log.count("b", "ping") == 2 })
	})
	t.Run("expired-on-arrival metric after an alert does not alert again", func(t *testing.T) {
		m.Publish(metric("b", "ping", -time.Second))
		settle(t, m, log, "renew3")
		if n := log.count("b", "ping"); n != 2 {
			t.Fatalf("%d alerts for b, want still 2", n)
		}
	})
	t.Run("a metric never valid does not alert", func(t *testing.T) {
		m.Publish(metric("c", "ping", -time.Second))
		settle(t, m, log, "renew4")
		if n := log.count("c", "ping"); n != 0 {
			t.Fatalf("%d alerts for c", n)
		}
	})
}

func TestLivePeersFollowPing(t *testing.T) {
	m, log := start(t)
	m.Publish(metric("self", "ping", time.Hour))
	m.Publish(metric("a", "ping", time.Hour))
	m.Publish(metric("b", "ping", 300*time.Millisecond))
	m.Publish(metric("c", "freespace", time.Hour)) // no ping: not live
	live, err := m.LivePeers(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(live, "a") || !slices.Contains(live, "self") || slices.Contains(live, "c") {
		t.Fatalf("LivePeers = %v", live)
	}
	waitFor(t, "b's ping alert", func() bool { return log.count("b", "ping") == 1 })
	live, _ = m.LivePeers(ctx(t))
	if want := []peer.ID{"a", "self"}; !slices.Equal(live, want) {
		t.Fatalf("LivePeers = %v, want %v", live, want)
	}
	m.Publish(metric("b", "ping", time.Hour))
	waitFor(t, "b live again", func() bool {
		live, _ := m.LivePeers(ctx(t))
		return slices.Equal(live, []peer.ID{"a", "b", "self"})
	})
}

func TestForget(t *testing.T) {
	m, log := start(t)
	m.Publish(metric("a", "ping", 200*time.Millisecond))
	m.Publish(metric("a", "freespace", time.Hour))
	m.Publish(metric("b", "ping", time.Hour))
	m.Forget("a")
	all, err := m.LatestAll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := all["a"]; ok || len(all["b"]) != 1 {
		t.Fatalf("LatestAll after Forget = %v", all)
	}
	deadline := time.Now().Add(250 * time.Millisecond)
	waitFor(t, "a's metric TTL to pass", func() bool { return time.Now().After(deadline) })
	settle(t, m, log, "ping")
	if n := log.count("a", "ping"); n != 0 {
		t.Fatalf("%d alerts for a forgotten peer", n)
	}
}

func TestStopped(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	m, err := Spawn(system.Root, "self", Config{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	m.Stop()
	m.Stop()                                  // idempotent
	m.Publish(metric("a", "ping", time.Hour)) // must not block or panic
	if _, err := m.Latest(ctx(t), "ping"); !errors.Is(err, ErrStopped) {
		t.Fatalf("err = %v, want ErrStopped", err)
	}
}

// A restarted monitor asks its seed (the allocator, in a peer) for the metrics it holds, so it
// does not start empty; a fresh table it is, not the crashed instance's.
func TestRestartSeedsFromPeerActor(t *testing.T) {
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := root.Spawn(system, root.Config{FaultHooks: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	seed := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(messages.AllMetricsRequest); ok {
			c.Respond(messages.AllMetricsResponse{Metrics: map[peer.ID]map[string]api.Metric{
				"a": {"ping": metric("a", "ping", time.Hour)},
			}})
		}
	}))
	m, err := Spawn(r, "self", Config{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	// A round trip: the first instance has handled Started, so it does not seed itself too
	// (it would, were the seed named before its Started ran, and then hold a as well).
	if _, err := m.LivePeers(ctx(t)); err != nil {
		t.Fatal(err)
	}
	m.SeedFrom(seed)
	m.Publish(metric("b", "ping", time.Hour)) // only the crashed instance saw b
	waitFor(t, "b live", func() bool {
		live, _ := m.LivePeers(ctx(t))
		return slices.Equal(live, []peer.ID{"b"})
	})
	if err := r.Crash(ctx(t), "monitor"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the seed's table", func() bool {
		live, _ := m.LivePeers(ctx(t))
		return slices.Equal(live, []peer.ID{"a"})
	})
}
