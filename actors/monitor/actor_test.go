package monitor

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// fakeClock drives the actor logic directly, without the actor system or real time.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestActor(history int) (*monitorActor, *fakeClock) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	a := newMonitorActor("self", Config{CheckInterval: time.Second, AlertHistory: history}, nil, quiet)
	a.now = clk.now
	return a, clk
}

// drain returns the events the last handlers queued for the subscribers (what Receive sends).
func drain(a *monitorActor) []any {
	out := a.outbox
	a.outbox = nil
	return out
}

// alertsOf keeps the AlertRaised events.
func alertsOf(evs []any) []api.Alert {
	var out []api.Alert
	for _, ev := range evs {
		if r, ok := ev.(messages.AlertRaised); ok {
			out = append(out, r.Alert)
		}
	}
	return out
}

func at(clk *fakeClock, p peer.ID, name string, ttl time.Duration) api.Metric {
	return api.Metric{Name: name, Peer: p, Expire: clk.t.Add(ttl).UnixNano(), Valid: true}
}

func TestActorExpiryRules(t *testing.T) {
	var fired []api.Alert
	a, clk := newTestActor(10)
	check := func() {
		a.onCheck()
		fired = append(fired, alertsOf(drain(a))...)
	}
	a.onMetric(at(clk, "b", "ping", time.Second))
	a.onMetric(at(clk, "a", "ping", time.Second))
	a.onMetric(at(clk, "a", "freespace", time.Hour))
	drain(a)

	check()
	if len(fired) != 0 {
		t.Fatalf("alerts before expiry: %+v", fired)
	}
	clk.t = clk.t.Add(time.Second) // Expire == now: expired
	check()
	check()
	if len(fired) != 2 || fired[0].Peer != "a" || fired[1].Peer != "b" {
		t.Fatalf("alerts = %+v, want one for a then one for b", fired)
	}
	if fired[0].TriggeredAt != clk.t.UnixNano() || fired[0].Valid {
		t.Fatalf("alert %+v: want TriggeredAt=now and Valid=false", fired[0])
	}
	if got := a.livePeers(); len(got) != 0 {
		t.Fatalf("live peers after ping expiry: %v", got)
	}
	if got := a.latest("freespace"); len(got) != 1 {
		t.Fatalf("freespace of a should still be valid: %+v", got)
	}
	a.onMetric(at(clk, "a", "ping", time.Second))
	if got := a.livePeers(); len(got) != 1 || got[0] != "a" {
		t.Fatalf("live peers after renewal: %v", got)
	}
	clk.t = clk.t.Add(2 * time.Second)
	check()
	if len(fired) != 3 || fired[2].Peer != "a" {
		t.Fatalf("renewed metric did not alert again: %+v", fired)
	}
}

func TestActorAlertHistoryIsBounded(t *testing.T) {
	a, clk := newTestActor(2)
	for _, p := range []peer.ID{"a", "b", "c"} {
		a.onMetric(at(clk, p, "ping", time.Second))
	}
	clk.t = clk.t.Add(time.Minute)
	a.onCheck()
	if len(a.alerts) != 2 || a.alerts[0].Peer != "b" || a.alerts[1].Peer != "c" {
		t.Fatalf("alerts = %+v, want the newest two (b, c)", a.alerts)
	}
}

// A ping that expires sends AlertRaised then PeerDown; a fresh ping of a down peer sends PeerUp
// (so does a peer's first ping); a renewal of a live peer's ping sends nothing.
func TestActorPeerDownAndUp(t *testing.T) {
	a, clk := newTestActor(10)
	a.onMetric(at(clk, "a", "ping", time.Second))
	if evs := drain(a); len(evs) != 1 || evs[0] != (messages.PeerUp{Peer: "a"}) {
		t.Fatalf("first ping: events %+v, want PeerUp", evs)
	}
	a.onMetric(at(clk, "a", "ping", time.Second))
	a.onMetric(at(clk, "a", "freespace", time.Second))
	if evs := drain(a); len(evs) != 0 {
		t.Fatalf("renewal: events %+v, want none", evs)
	}
	clk.t = clk.t.Add(time.Minute)
	a.onCheck()
	evs := drain(a)
	var downs int
	for _, ev := range evs {
		if ev == (messages.PeerDown{Peer: "a"}) {
			downs++
		}
	}
	if len(alertsOf(evs)) != 2 || downs != 1 {
		t.Fatalf("expiry: events %+v, want two alerts and one PeerDown", evs)
	}
	a.onCheck()
	if evs := drain(a); len(evs) != 0 {
		t.Fatalf("second check: events %+v, want none", evs)
	}
	a.onMetric(at(clk, "a", "ping", time.Second))
	if evs := drain(a); len(evs) != 1 || evs[0] != (messages.PeerUp{Peer: "a"}) {
		t.Fatalf("back: events %+v, want PeerUp", evs)
	}
	a.onMetric(at(clk, "b", "ping", -time.Second)) // expired on arrival: not up
	if evs := drain(a); len(evs) != 0 {
		t.Fatalf("expired ping: events %+v, want none", evs)
	}
}

func TestActorDropsMetricsWithoutNameOrPeer(t *testing.T) {
	a, clk := newTestActor(10)
	a.onMetric(at(clk, "", "ping", time.Second))
	a.onMetric(at(clk, "a", "", time.Second))
	if len(a.metrics) != 0 {
		t.Fatalf("stored %v", a.metrics)
	}
}
