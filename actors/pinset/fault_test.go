package pinset

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/messages"
)

type crashNow struct{}

// crashOnRequest makes the pinset actor panic on crashNow (until the test ends) and counts
// its starts from now on.
func crashOnRequest(t *testing.T) *atomic.Int32 {
	var started atomic.Int32
	hook := func(m any) {
		switch m.(type) {
		case *actor.Started:
			started.Add(1)
		case crashNow:
			panic("injected pinset fault")
		}
	}
	faultHook.Store(&hook)
	t.Cleanup(func() { faultHook.Store(nil) })
	return &started
}

// TestPinsetCrashRestartsFresh: the pinset actor panics between commits; supervision restarts
// it as a fresh instance that re-reads its numbering from the store, keeps its subscribers,
// and goes on: the next commits continue the seqs with no reuse, and every acknowledged op is
// stored and announced.
func TestPinsetCrashRestartsFresh(t *testing.T) {
	started := crashOnRequest(t)
	sys := actor.NewActorSystem()
	announced := 0
	subs := subscriber(t, sys, func(ev messages.PinsetChanged) { announced += len(ev.Ops) })
	store := &memStore{}
	p, _ := spawnIn(t, sys, store, subs)
	commit := func(i int) uint64 {
		t.Helper()
		ops, err := p.Commit(t.Context(), messages.Change{Kind: crdt.OpPin, Pin: testPin(i)})
		if err != nil || len(ops) != 1 {
			t.Fatalf("commit %d: %v %v", i, ops, err)
		}
		return ops[0].Seq
	}
	for i := 1; i <= 5; i++ {
		commit(i)
	}
	sys.Root.Send(p.pid, crashNow{})
	if !poll.Until(10*time.Second, time.Millisecond, func() bool { return started.Load() == 2 }) {
		t.Fatalf("not restarted (%d starts)", started.Load())
	}
	for i := 6; i <= 10; i++ {
		if seq := commit(i); seq != uint64(i) {
			t.Fatalf("commit %d after the restart got seq %d", i, seq)
		}
	}
	settle(t, sys, subs)
	store.mu.Lock()
	stored := 0
	for _, b := range store.batches {
		stored += len(b)
	}
	store.mu.Unlock()
	if stored != 10 || announced != 10 {
		t.Fatalf("stored %d ops, announced %d; want 10 and 10", stored, announced)
	}
}
