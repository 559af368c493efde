package monitor

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
)

// fakeClock drives the actor logic directly, without the actor system or real time.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestActor(history int, onAlert func(api.Alert)) (*monitorActor, *fakeClock) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	a := newMonitorActor("self", Config{CheckInterval: time.Second, AlertHistory: history}, onAlert, quiet)
	a.now = clk.now
	return a, clk
}

func at(clk *fakeClock, p peer.ID, name string, ttl time.Duration) api.Metric {
	return api.Metric{Name: name, Peer: p, Expire: clk.t.Add(ttl).UnixNano(), Valid: true}
}

func TestActorExpiryRules(t *testing.T) {
	var fired []api.Alert
	a, clk := newTestActor(10, func(al api.Alert) { fired = append(fired, al) })
	a.onMetric(at(clk, "b", "ping", time.Second))
	a.onMetric(at(clk, "a", "ping", time.Second))
	a.onMetric(at(clk, "a", "freespace", time.Hour))

	a.onCheck()
	if len(fired) != 0 {
		t.Fatalf("alerts before expiry: %+v", fired)
	}
	clk.t = clk.t.Add(time.Second) // Expire == now: expired
	a.onCheck()
	a.onCheck()
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
	a.onCheck()
	if len(fired) != 3 || fired[2].Peer != "a" {
		t.Fatalf("renewed metric did not alert again: %+v", fired)
	}
}

func TestActorAlertHistoryIsBounded(t *testing.T) {
	a, clk := newTestActor(2, nil)
	for _, p := range []peer.ID{"a", "b", "c"} {
		a.onMetric(at(clk, p, "ping", time.Second))
	}
	clk.t = clk.t.Add(time.Minute)
	a.onCheck()
	if len(a.alerts) != 2 || a.alerts[0].Peer != "b" || a.alerts[1].Peer != "c" {
		t.Fatalf("alerts = %+v, want the newest two (b, c)", a.alerts)
	}
}

func TestActorSurvivesPanickingOnAlert(t *testing.T) {
	calls := 0
	a, clk := newTestActor(10, func(api.Alert) { calls++; panic("boom") })
	a.onMetric(at(clk, "a", "ping", time.Second))
	a.onMetric(at(clk, "b", "ping", time.Second))
	clk.t = clk.t.Add(time.Minute)
	a.onCheck()
	if calls != 2 || len(a.alerts) != 2 {
		t.Fatalf("calls=%d alerts=%d, want 2 and 2", calls, len(a.alerts))
	}
}

func TestActorDropsMetricsWithoutNameOrPeer(t *testing.T) {
	a, clk := newTestActor(10, nil)
	a.onMetric(at(clk, "", "ping", time.Second))
	a.onMetric(at(clk, "a", "", time.Second))
	if len(a.metrics) != 0 {
		t.Fatalf("stored %v", a.metrics)
	}
}
