package pinset

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// drain asks a subscriber to answer once it has handled what is already in its mailbox.
type drain struct{}

// subscriber spawns an actor that hands every PinsetChanged to fn, in its own mailbox (so fn
// needs no lock against other events). A nil fn subscribes nobody.
func subscriber(t *testing.T, sys *actor.ActorSystem, fn func(messages.PinsetChanged)) []*actor.PID {
	t.Helper()
	if fn == nil {
		return nil
	}
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case messages.PinsetChanged:
			fn(m)
		case drain:
			ctx.Respond(drain{})
		}
	}))
	return []*actor.PID{pid}
}

// settle waits until the subscriber handled every event sent before it: the pinset sends
// events before it answers the commits, so after the commits returned they are all queued
// ahead of this request.
func settle(t *testing.T, sys *actor.ActorSystem, subs []*actor.PID) {
	t.Helper()
	for _, s := range subs {
		if _, err := sys.Root.RequestFuture(s, drain{}, 10*time.Second).Result(); err != nil {
			t.Fatalf("subscriber: %v", err)
		}
	}
}

// TestSubscribeAddsASubscriber: a subscriber added by message hears the next changes, once.
func TestSubscribeAddsASubscriber(t *testing.T) {
	sys := actor.NewActorSystem()
	store := &memStore{}
	p, _ := spawnIn(t, sys, store, nil)
	n := 0
	subs := subscriber(t, sys, func(ev messages.PinsetChanged) { n += len(ev.Ops) })
	p.Subscribe(subs[0])
	p.Subscribe(subs[0])
	if _, err := p.Commit(t.Context(), messages.Change{Kind: crdt.OpPin, Pin: testPin(1)}); err != nil {
		t.Fatal(err)
	}
	settle(t, sys, subs)
	if n != 1 {
		t.Fatalf("subscriber saw %d ops, want 1", n)
	}
}
