package tracker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// crashNow makes the tracker actor panic through the fault hook.
type crashNow struct{}

// TestTrackerActorCrashRestartsFresh: the tracker actor panics while pins flow; its supervisor
// restarts it as a fresh instance that rebuilds its window from the durable queue and asks for
// a state sync (the items it held in memory only are gone). The facade keeps serving, and
// once the sync (here the test, as the healer would) tracks the lost items again, every pin
// acknowledged before or after the crash is pinned.
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
	resyncs := make(chan struct{}, 4)
	probe := tr.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(messages.StateSyncWanted); ok {
			resyncs <- struct{}{}
		}
	}))
	tr.NotifyRestarts(probe)
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
	select {
	case <-resyncs:
	case <-time.After(5 * time.Second):
		t.Fatal("the restarted tracker asked for no state sync")
	}
	if n := tr.queue.QueueLen(); n != 15-cfg.QueueWindow {
		t.Fatalf("durable queue after the crash: %d, want %d (all but the window's memory-only items)", n, 15-cfg.QueueWindow)
	}
	// The state sync: tracks what is allocated here and not pinned (idempotent for the rest).
	if err := tr.TrackMany(ctx5s(t), pins[:15]); err != nil {
		t.Fatal(err)
	}
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

// queuePID is the address of one of the tracker's queue actors.
func queuePID(tr *Tracker, k queueKind) *actor.PID {
	return actor.NewPID(tr.pid.Address, tr.pid.Id+"/queue:"+k.String())
}

// slots asks the tracker how many slots of its pool are taken (granted or running).
func slots(t *testing.T, tr *Tracker) int {
	t.Helper()
	res, err := tr.request(ctx5s(t), listQuery{}, DefaultRequestTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return res.(listReply).slots
}

// TestQueueActorCrashLosesNothing: the priority queue actor panics twice while pins flow
// (once with its slots full of stalled pins, once while pins settle). Each time it restarts
// fresh and the tracker hands it its queued and running items again: every pin ends pinned,
// the slots taken by the crashed instance come back (three run at once again after the crash),
// and never more than concurrent_pins calls run at once.
func TestQueueActorCrashLosesNothing(t *testing.T) {
	var restarts atomic.Int32
	crashQueueHook(t, func(k queueKind) {
		if k == queuePriority {
			restarts.Add(1)
		}
	})
	cfg := testConfig()
	cfg.ConcurrentPins, cfg.QueueWindow = 3, 8
	b := newCountingBackend()
	tr, err := New(quietSystem().Root, cfg, b, testQueue(t), selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.ClearFaults()
		tr.Stop()
	})
	var pins []api.Pin
	for i := 0; i < 40; i++ {
		p := testPin(t, fmt.Sprint("qcrash", i))
		b.StallPin(p.Cid)
		pins = append(pins, p)
	}
	if err := tr.TrackMany(ctx5s(t), pins[:20]); err != nil {
		t.Fatal(err)
	}
	running := func(want int) {
		waitFor(t, fmt.Sprint(want, " running"), func() (bool, string) {
			_, r := window(t, tr)
			return r == want, fmt.Sprint(r)
		})
	}
	running(3)
	waitFor(t, "three pin calls", func() (bool, string) { // pinning starts before the call
		n := 0
		for _, p := range pins[:3] {
			n += b.PinCalls(p.Cid)
		}
		return n == 3, fmt.Sprint(n)
	})
	tr.system.Root.Send(queuePID(tr, queuePriority), crashQueue{})
	waitFor(t, "restart", func() (bool, string) { return restarts.Load() == 2, fmt.Sprint(restarts.Load()) })
	running(3) // the crashed instance's slots are free again
	waitFor(t, "the first three pins handed again after the crash", func() (bool, string) {
		var calls []int
		for _, p := range pins[:3] {
			calls = append(calls, b.PinCalls(p.Cid))
		}
		return fmt.Sprint(calls) == "[2 2 2]", fmt.Sprint(calls)
	})
	if err := tr.TrackMany(ctx5s(t), pins[20:]); err != nil {
		t.Fatal(err)
	}
	b.ClearFaults()
	tr.system.Root.Send(queuePID(tr, queuePriority), crashQueue{})
	for _, p := range pins {
		waitStatus(t, tr, p, api.TrackerStatusPinned)
	}
	waitFor(t, "queue drained", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	waitFor(t, "slots back", func() (bool, string) { n := slots(t, tr); return n == 0, fmt.Sprint(n) })
	if restarts.Load() != 3 {
		t.Fatalf("%d starts of the priority queue actor, want 3", restarts.Load())
	}
	if p := b.Peak(); p > cfg.ConcurrentPins {
		t.Fatalf("%d pin calls at once, concurrent_pins=%d", p, cfg.ConcurrentPins)
	}
}

// TestPinPastThePriorityRulesIsDemoted: a pin that is young when queued runs from the priority
// queue; its attempt fails (no block within pin_timeout) once it is older than
// priority_pin_max_age, so it moves to the normal queue actor with its attempts and error and
// retries there, until it gives up; Recover still brings it back.
func TestPinPastThePriorityRulesIsDemoted(t *testing.T) {
	cfg := testConfig()
	cfg.PriorityPinMaxAge = 500 * time.Millisecond
	cfg.PinTimeout = time.Second
	tr, b := newTestTracker(t, cfg)
	pin := testPin(t, "ageing")
	b.StallPin(pin.Cid)
	if err := tr.Track(ctx5s(t), pin); err != nil {
		t.Fatal(err)
	}
	if pi := waitStatus(t, tr, pin, api.TrackerStatusPinning); !pi.PriorityPin {
		t.Skip("the machine is too slow: the pin was past priority_pin_max_age before it was queued")
	}
	waitFor(t, "the first call", func() (bool, string) { return b.PinCalls(pin.Cid) == 1, "" })
	b.FailPin(pin.Cid, errors.New("no providers")) // the next attempts fail at once
	var pi api.PinInfo
	waitFor(t, "given up", func() (bool, string) {
		pi = status(t, tr, pin)
		return pi.Status == api.TrackerStatusPinError && pi.AttemptCount == cfg.PriorityPinMaxRetries, fmt.Sprintf("%s %d", pi.Status, pi.AttemptCount)
	})
	if pi.PriorityPin || !strings.Contains(pi.Error, "no providers") {
		t.Fatalf("after the demotion: %+v", pi.PinInfoShort)
	}
	if n := b.PinCalls(pin.Cid); n != cfg.PriorityPinMaxRetries {
		t.Fatalf("pin calls %d", n)
	}
	b.Heal(pin.Cid)
	pi, err := tr.Recover(ctx5s(t), pin)
	if err != nil || pi.Status != api.TrackerStatusPinned {
		t.Fatalf("recover: %+v %v", pi, err)
	}
}

// TestOpsOfOneEventOnAnIdleItem: an event that unpins then pins again a CID whose item waits
// with nothing handed out (here a demoted pin in its backoff) hands only the last operation:
// the unpin, handed and withdrawn while the tracker handles the event, never reaches a queue
// actor, so the CID is never unpinned.
func TestOpsOfOneEventOnAnIdleItem(t *testing.T) {
	cfg := testConfig()
	cfg.PriorityPinMaxAge = 300 * time.Millisecond
	cfg.PinTimeout = 600 * time.Millisecond
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = time.Hour, time.Hour
	tr, b := newTestTracker(t, cfg)
	pin := testPin(t, "idle")
	b.StallPin(pin.Cid)
	if err := tr.Track(ctx5s(t), pin); err != nil {
		t.Fatal(err)
	}
	if pi := waitStatus(t, tr, pin, api.TrackerStatusPinning); !pi.PriorityPin {
		t.Skip("the machine is too slow: the pin was past priority_pin_max_age before it was queued")
	}
	waitFor(t, "demoted", func() (bool, string) {
		pi := status(t, tr, pin)
		return pi.Status == api.TrackerStatusPinError && !pi.PriorityPin, fmt.Sprintf("%s priority=%v", pi.Status, pi.PriorityPin)
	})
	b.ClearFaults()
	// Op kinds by value (1 pin, 2 unpin) and the decoded pin: the op type stays unnamed here.
	var ev messages.PinsetChanged
	ev.Ops = slices.Grow(ev.Ops, 2)[:2]
	ev.Ops[0].Kind, ev.Ops[0].Cid = 2, pin.Cid
	ev.Ops[1].Kind, ev.Ops[1].Cid = 1, pin.Cid
	ev.Pins = []*api.Pin{nil, &pin}
	tr.system.Root.Send(tr.PID(), ev)
	waitStatus(t, tr, pin, api.TrackerStatusPinned)
	if n := b.UnpinCalls(pin.Cid); n != 0 {
		t.Fatalf("%d unpin calls", n)
	}
}
