package tracker

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/api"
)

// crashNow makes the tracker actor panic through the fault hook.
type crashNow struct{}

// TestTrackerActorCrashRestartsFresh: the tracker actor panics while pins flow; its supervisor
// restarts it as a fresh instance that rebuilds its window from the durable queue. The facade
// keeps serving, and every pin acknowledged before or after the crash is pinned.
func TestTrackerActorCrashRestartsFresh(t *testing.T) {
	var started atomic.Int32
	hook := func(m any) {
		switch m.(type) {
		case *actor.Started:
			started.Add(1)
		case crashNow:
			panic("injected tracker fault")
		}
	}
	faultHook.Store(&hook)
	t.Cleanup(func() { faultHook.Store(nil) })

	cfg := testConfig()
	cfg.ConcurrentPins, cfg.QueueWindow = 2, 5
	tr, b := newTestTracker(t, cfg)
	var pins []api.Pin
	for i := 0; i < 30; i++ {
		p := testPin(t, fmt.Sprint("crash", i))
		b.StallPin(p.Cid)
		pins = append(pins, p)
	}
	if err := tr.TrackMany(ctx5s(t), pins[:15]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two running", func() (bool, string) {
		_, r := window(t, tr)
		return r == 2, fmt.Sprint(r)
	})
	tr.system.Root.Send(tr.PID(), crashNow{})
	waitFor(t, "restart", func() (bool, string) { return started.Load() == 2, fmt.Sprint(started.Load()) })
	if err := tr.TrackMany(ctx5s(t), pins[15:]); err != nil {
		t.Fatalf("track after the crash: %v", err)
	}
	if s := status(t, tr, pins[20]).Status; s != api.TrackerStatusPinQueued {
		t.Fatalf("queued after the crash: %s", s)
	}
	b.ClearFaults()
	for _, p := range pins {
		waitStatus(t, tr, p, api.TrackerStatusPinned)
	}
	waitFor(t, "queue drained", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
}
