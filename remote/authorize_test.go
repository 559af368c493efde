package remote

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// TestAuthorizeSeesCallerAndReplies: Authorize is told the authenticated caller and whether a
// message answers a request this peer has outstanding; a refusal reaches the caller as
// api.ErrForbidden, and a message pushed unasked at a local actor is not taken for a reply.
func TestAuthorizeSeesCallerAndReplies(t *testing.T) {
	type call struct {
		from    peer.ID
		typ     string
		isReply bool
	}
	var mu sync.Mutex
	var calls []call
	cfg := Config{Authorize: func(from peer.ID, typ string, isReply bool) error {
		mu.Lock()
		calls = append(calls, call{from, typ, isReply})
		mu.Unlock()
		if typ == "test.blob" {
			return errors.New("blobs are not allowed here")
		}
		return nil
	}}
	a := newTestPeer(t, cfg, testRegistry(t))
	b := newTestPeer(t, cfg, testRegistry(t))
	connect(t, a, b)
	spawnEcho(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// a asks b: b sees a request (not a reply), a sees b's pong as the reply.
	if _, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &ping{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	_, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &blob{Data: []byte("x")})
	if !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("refused message: err = %v, want ErrForbidden", err)
	}
	// b pushes a pong at an actor of a that asked nothing: not a reply.
	got := make(chan any, 1)
	sink, err := a.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &requester{got: got} }), "sink")
	if err != nil {
		t.Fatal(err)
	}
	b.system.Root.Send(b.r.PID(a.h.ID(), sink.Id), &pong{Text: "unasked"})
	<-got

	mu.Lock()
	defer mu.Unlock()
	want := []call{
		{a.h.ID(), "test.ping", false}, {b.h.ID(), "test.pong", true},
		{a.h.ID(), "test.blob", false},
		{b.h.ID(), "test.pong", false},
	}
	if len(calls) != len(want) {
		t.Fatalf("Authorize calls = %+v, want %+v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, calls[i], want[i])
		}
	}
}
