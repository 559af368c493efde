package watchdog

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/actors/root"
)

func spawnRoot(t *testing.T) *root.Root {
	t.Helper()
	r, err := root.Spawn(actor.NewActorSystem(), root.Config{}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// pinger counts pings on a channel, as sdnotify.Watchdog would send them to systemd.
func pinger() (func() error, <-chan struct{}) {
	pings := make(chan struct{}, 64)
	return func() error { pings <- struct{}{}; return nil }, pings
}

// TestPingsWhileRootAnswers: a healthy tree gets a ping at start and one per tick.
func TestPingsWhileRootAnswers(t *testing.T) {
	r := spawnRoot(t)
	ping, pings := pinger()
	if _, err := Spawn(r, Deps{Every: 20 * time.Millisecond, Probe: r.PID(), Ping: ping}, slog.Default()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		select {
		case <-pings:
		case <-time.After(5 * time.Second):
			t.Fatalf("ping %d did not come", i+1)
		}
	}
}

// silent takes every message and answers none: a wedged actor, as far as a probe can tell.
type silent struct{}

func (silent) Receive(actor.Context) {}

// TestNoPingWhenProbeUnanswered: the ping follows the answer, not the tick, so a tree that
// stops answering stops feeding systemd's watchdog.
func TestNoPingWhenProbeUnanswered(t *testing.T) {
	r := spawnRoot(t)
	wedged, err := r.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return silent{} }), "wedged")
	if err != nil {
		t.Fatal(err)
	}
	ping, pings := pinger()
	if _, err := Spawn(r, Deps{Every: 10 * time.Millisecond, Probe: wedged, Ping: ping}, slog.Default()); err != nil {
		t.Fatal(err)
	}
	// 30 ticks' worth: any ping at all would be a bug, there is no event to wait on instead.
	select {
	case <-pings:
		t.Fatal("pinged although the probe was never answered")
	case <-time.After(300 * time.Millisecond):
	}
}
