package root

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/internal/poll"
)

// TestDispatcherNeverQueuesARun: a run scheduled while every worker is busy starts at once on
// a new worker (a mailbox blocked in a long handler must not hold up the others), and waiting
// workers take the next runs.
func TestDispatcherNeverQueuesARun(t *testing.T) {
	d := newWorkerDispatcher()
	release := make(chan struct{})
	started := make(chan int, 3)
	for i := range 3 {
		d.Schedule(func() {
			started <- i
			<-release
		})
	}
	for range 3 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("a run waited behind busy workers")
		}
	}
	close(release)
	var ran atomic.Int64
	done := make(chan struct{})
	for range 100 {
		d.Schedule(func() {
			if ran.Add(1) == 100 {
				close(done)
			}
		})
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of 100 runs ran", ran.Load())
	}
}

// TestDispatcherWorkersEnd: once no run comes for the idle time, the workers end.
func TestDispatcherWorkersEnd(t *testing.T) {
	d := newWorkerDispatcher()
	d.idle = 20 * time.Millisecond
	release := make(chan struct{})
	for range 8 {
		d.Schedule(func() { <-release })
	}
	if n := d.workers.Load(); n != 8 {
		t.Fatalf("%d workers for 8 blocked runs", n)
	}
	close(release)
	if !poll.Until(10*time.Second, 10*time.Millisecond, func() bool { return d.workers.Load() == 0 }) {
		t.Fatalf("%d workers 10 s after the last run: they did not end", d.workers.Load())
	}
}

// TestChildrenRunOnTheDispatcher: a child spawned through the root answers requests (its
// mailbox runs on the root's dispatcher).
func TestChildrenRunOnTheDispatcher(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	r, err := Spawn(system, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := spawnEcho(t, r)
	for range 1000 {
		res, err := system.Root.RequestFuture(pid, "hi", 10*time.Second).Result()
		if err != nil || res != "hi!" {
			t.Fatalf("reply %v, %v", res, err)
		}
	}
}

// TestRootStopEndsIdleWorkers: once the root actor stops, the children's idle workers end
// without waiting out workerIdle, and a run scheduled later still runs.
func TestRootStopEndsIdleWorkers(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	r, d, err := spawn(system, Config{}.withDefaults(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	pid := spawnEcho(t, r)
	if _, err := system.Root.RequestFuture(pid, "hi", 10*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	if d.workers.Load() == 0 {
		t.Fatal("no worker ran the child's mailbox")
	}
	r.Stop()
	if !poll.Until(workerIdle/2, 5*time.Millisecond, func() bool { return d.workers.Load() == 0 }) {
		t.Fatalf("%d workers still waiting %s after the root stopped", d.workers.Load(), workerIdle/2)
	}
	ran := make(chan struct{})
	d.Schedule(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("a run scheduled after the stop never ran")
	}
}

// spawnEcho spawns, through r, a child that answers a string s with s + "!".
func spawnEcho(t *testing.T, r *Root) *actor.PID {
	t.Helper()
	pid, err := r.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if s, ok := c.Message().(string); ok {
			c.Respond(s + "!")
		}
	}), "echo")
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
