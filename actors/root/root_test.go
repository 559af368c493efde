package root

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/actors/ask"
)

// counter remembers what it was told in a field: a fresh instance starts at zero.
type counter struct {
	n       int
	started chan<- int // receives the instance's number at each start
	id      int
}

type (
	add   struct{}
	get   struct{}
	crash struct{}
)

func (c *counter) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		c.started <- c.id
	case add:
		c.n++
	case get:
		ctx.Respond(c.n)
	case crash:
		panic("test fault")
	}
}

func spawnCounter(t *testing.T, r *Root, name, alias string) (*actor.PID, <-chan int) {
	t.Helper()
	started := make(chan int, 16)
	instances := 0
	props := actor.PropsFromProducer(func() actor.Actor {
		instances++
		return &counter{started: started, id: instances}
	})
	var pid *actor.PID
	var err error
	if alias == "" {
		pid, err = r.SpawnNamed(props, name)
	} else {
		pid, err = r.SpawnAliased(props, name, alias)
	}
	if err != nil {
		t.Fatal(err)
	}
	if id := <-started; id != 1 {
		t.Fatalf("first instance is %d", id)
	}
	return pid, started
}

func newRoot(t *testing.T) (*actor.ActorSystem, *Root) {
	t.Helper()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := Spawn(system, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return system, r
}

func getN(t *testing.T, system *actor.ActorSystem, pid *actor.PID) int {
	t.Helper()
	n, err := ask.Call[int](context.Background(), system, pid, get{}, 5*time.Second, "counter", errors.New("stopped"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A child that panics is restarted as a fresh instance (its fields start over); messages sent
// while it waits for the restart are delivered to the new instance, none lost; the root counts
// the restart; its siblings are untouched (OneForOne).
func TestChildRestartsFresh(t *testing.T) {
	system, r := newRoot(t)
	pid, started := spawnCounter(t, r, "counter", "")
	sib, _ := spawnCounter(t, r, "sibling", "")
	if pid.Id != Name+"/counter" {
		t.Fatalf("child id %q", pid.Id)
	}
	system.Root.Send(sib, add{})
	system.Root.Send(pid, add{})
	system.Root.Send(pid, add{})
	system.Root.Send(pid, crash{})
	system.Root.Send(pid, add{}) // queued behind the crash
	if id := <-started; id != 2 {
		t.Fatalf("restarted instance is %d, want a new one (2)", id)
	}
	if n := getN(t, system, pid); n != 1 {
		t.Fatalf("after restart n = %d, want 1 (fresh instance, then the queued add)", n)
	}
	if n := getN(t, system, sib); n != 1 {
		t.Fatalf("sibling n = %d, want 1 (untouched)", n)
	}
	cs, err := r.Children(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "counter" || cs[0].Restarts != 1 || cs[1].Restarts != 0 {
		t.Fatalf("children = %+v", cs)
	}
}

// Repeated failures back off: the delay doubles from MinBackoff up to MaxBackoff.
func TestBackoffGrows(t *testing.T) {
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := Spawn(system, Config{MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, started := spawnCounter(t, r, "c", "")
	for i := 2; i <= 6; i++ {
		system.Root.Send(pid, crash{})
		if id := <-started; id != i {
			t.Fatalf("instance %d, want %d", id, i)
		}
	}
	cs, _ := r.Children(context.Background())
	if cs[0].Restarts != 5 {
		t.Fatalf("restarts = %d, want 5", cs[0].Restarts)
	}
	a := &rootActor{cfg: Config{MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Window: time.Minute}}
	if got := a.delay(1); got != time.Millisecond {
		t.Fatalf("delay(1) = %s", got)
	}
	if got := a.delay(3); got != 4*time.Millisecond {
		t.Fatalf("delay(3) = %s", got)
	}
	if got := a.delay(10); got != 4*time.Millisecond {
		t.Fatalf("delay(10) = %s, want the cap", got)
	}
}

// An alias routes to the child's process, also after a restart, and is freed when it stops.
func TestAlias(t *testing.T) {
	system, r := newRoot(t)
	pid, started := spawnCounter(t, r, "rpc", "peer")
	alias := actor.NewPID(system.Address(), "peer")
	system.Root.Send(alias, add{})
	system.Root.Send(alias, crash{})
	<-started
	system.Root.Send(alias, add{})
	if n := getN(t, system, alias); n != 1 {
		t.Fatalf("n via alias = %d, want 1", n)
	}
	if _, err := r.SpawnAliased(actor.PropsFromFunc(func(actor.Context) {}), "other", "peer"); err == nil {
		t.Fatal("a taken alias was registered twice")
	}
	if err := system.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	// The root forgets the child on Terminated; the alias is then free again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		cs, _ := r.Children(context.Background())
		if len(cs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("children after stop: %+v", cs)
		}
	}
	if _, err := r.SpawnAliased(actor.PropsFromFunc(func(actor.Context) {}), "again", "peer"); err != nil {
		t.Fatalf("alias not freed: %v", err)
	}
}

func TestStopped(t *testing.T) {
	_, r := newRoot(t)
	r.Stop()
	if _, err := r.SpawnNamed(actor.PropsFromFunc(func(actor.Context) {}), "x"); !errors.Is(err, ErrStopped) {
		t.Fatalf("err = %v, want ErrStopped", err)
	}
}

// With FaultHooks, any child panics on Crash and comes back fresh.
func TestCrashHook(t *testing.T) {
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := Spawn(system, Config{FaultHooks: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, started := spawnCounter(t, r, "c", "")
	system.Root.Send(pid, add{})
	if err := r.Crash(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	if id := <-started; id != 2 {
		t.Fatalf("instance %d after Crash", id)
	}
	if n := getN(t, system, pid); n != 0 {
		t.Fatalf("n = %d after restart, want 0", n)
	}
	if err := r.Crash(context.Background(), "nobody"); err == nil {
		t.Fatal("Crash of an unknown child succeeded")
	}
}
