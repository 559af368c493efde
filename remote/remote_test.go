package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/pincluster/pincluster/internal/poll"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
)

func TestActorRequestAcrossPeers(t *testing.T) {
	a, b := pair(t, Config{})
	got := make(chan any, 4)
	req := a.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &requester{got: got} }))

	a.system.Root.Send(req, &askCmd{to: a.r.PID(b.h.ID(), "echo"), msg: &ping{Text: "hello"}})
	if p, ok := wait(t, got, 5*time.Second).(*pong); !ok || p.Text != "hello" {
		t.Fatalf("requester got %#v, want pong hello", p)
	}

	// The target sees the requester's own PID, with this peer's ID as its address.
	a.system.Root.Send(req, &askCmd{to: a.r.PID(b.h.ID(), "echo"), msg: &ping{Text: "whoami"}})
	if p, ok := wait(t, got, 5*time.Second).(*pong); !ok || p.Text != a.h.ID().String()+"/"+req.Id {
		t.Fatalf("target saw sender %#v, want %s/%s", p, a.h.ID(), req.Id)
	}

	// The error reply reaches the actor too.
	a.system.Root.Send(req, &askCmd{to: a.r.PID(b.h.ID(), "nobody"), msg: &ping{Text: "x"}})
	re, ok := wait(t, got, 5*time.Second).(*RemoteError)
	if !ok || re.Code != CodeNotFound {
		t.Fatalf("requester got %#v, want a not-found RemoteError", re)
	}
}

func TestRequestFacade(t *testing.T) {
	a, b := pair(t, Config{})
	ctx := context.Background()
	v, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &ping{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := v.(*pong); !ok || p.Text != "hi" {
		t.Fatalf("got %#v, want pong hi", v)
	}
	// And back the other way, which uses b's own endpoint to a.
	spawnEcho(t, a)
	if _, err := b.r.Request(ctx, b.r.PID(a.h.ID(), "echo"), &ping{Text: "back"}); err != nil {
		t.Fatal(err)
	}
	// A PID on this peer is delivered locally.
	if _, err := a.r.Request(ctx, a.r.PID(a.h.ID(), "echo"), &ping{Text: "local"}); err != nil {
		t.Fatal(err)
	}
}

func TestRequestErrors(t *testing.T) {
	cfg := Config{RequestTimeout: 2 * time.Second}
	a := newTestPeer(t, cfg, testRegistry(t, JSONCodec[unknownToB]("test.unknown", 1)))
	b := newTestPeer(t, cfg, testRegistry(t))
	connect(t, a, b)
	spawnEcho(t, b)
	type unregistered struct{}

	cases := []struct {
		name    string
		to      string
		msg     any
		is      error
		contain string
	}{
		{"missing actor", "nobody", &ping{}, api.ErrNotFound, `no actor named "nobody" on peer ` + b.h.ID().String()},
		{"type unknown to the receiver", "echo", &unknownToB{N: 1}, api.ErrInvalid, "has no codec for message type test.unknown version 1"},
		{"type unknown to the sender", "echo", &unregistered{}, api.ErrInvalid, "has no remote codec"},
		{"no answer", "echo", &ping{Text: "sink"}, api.ErrTimeout, "peer " + b.h.ID().String() + " did not answer within"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), tc.to), tc.msg)
			if !errors.Is(err, tc.is) || err == nil || !strings.Contains(err.Error(), tc.contain) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.is, tc.contain)
			}
		})
	}
	// A request whose caller gives up ends at once with the caller's reason.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &ping{Text: "sink"})
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `request to actor "echo" on peer `) {
			t.Fatalf("cancelled: err = %v, want context.Canceled naming the actor", err)
		}
	case <-time.After(cfg.RequestTimeout / 2):
		t.Fatal("a cancelled request waited for its timeout")
	}
	// The stream survived the error replies.
	if _, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "ok"}); err != nil {
		t.Fatal(err)
	}
}

func TestPeerClosed(t *testing.T) {
	cfg := Config{RequestTimeout: 30 * time.Second, DialTimeout: 2 * time.Second}
	a, b := pair(t, cfg)
	to := a.r.PID(b.h.ID(), "echo")
	if _, err := a.r.Request(context.Background(), to, &ping{Text: "warm"}); err != nil {
		t.Fatal(err)
	}

	// A request b will never answer fails fast when b goes away, not after 30 s.
	errc := make(chan error, 1)
	go func() {
		_, err := a.r.Request(context.Background(), to, &ping{Text: "sink"})
		errc <- err
	}()
	waitPending(t, a.r, 1)
	start := time.Now()
	_ = b.r.Close()
	_ = b.h.Close()
	err := wait(t, errc, 10*time.Second)
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("pending request: err = %v, want unreachable", err)
	}
	t.Logf("pending request failed %s after close: %v", time.Since(start), err)

	for i := 0; i < 3; i++ {
		start := time.Now()
		_, err := a.r.Request(context.Background(), to, &ping{Text: "after"})
		if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "peer "+b.h.ID().String()+" unreachable") {
			t.Fatalf("request %d after close: err = %v, want unreachable", i, err)
		}
		if d := time.Since(start); d > cfg.DialTimeout+time.Second {
			t.Fatalf("request %d took %s, want under the dial timeout %s", i, d, cfg.DialTimeout)
		}
	}
}

// waitPending polls until the Remote has n requests in flight.
func waitPending(t *testing.T, r *Remote, n int) {
	t.Helper()
	if !poll.Until(5*time.Second, 5*time.Millisecond, func() bool { return r.pending.len() >= n }) {
		t.Fatalf("%d pending requests, want %d", r.pending.len(), n)
	}
}

func TestConcurrentRequests(t *testing.T) {
	a, b := pair(t, Config{})
	to := a.r.PID(b.h.ID(), "echo")
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for g := 0; g < 100; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				want := fmt.Sprintf("%d/%d", g, i)
				v, err := a.r.Request(context.Background(), to, &ping{Text: want})
				if err != nil {
					errc <- err
					return
				}
				if p, ok := v.(*pong); !ok || p.Text != want {
					errc <- fmt.Errorf("got %#v, want pong %s", v, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestMessageSize(t *testing.T) {
	const max = 4 << 20
	a, b := pair(t, Config{MaxMessageSize: max})
	to := a.r.PID(b.h.ID(), "echo")

	big := bytes.Repeat([]byte{0xab}, max-1024)
	v, err := a.r.Request(context.Background(), to, &blob{Data: big})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := v.(*blob); !ok || !bytes.Equal(got.Data, big) {
		t.Fatalf("large message came back changed")
	}

	_, err = a.r.Request(context.Background(), to, &blob{Data: make([]byte, max)})
	if !errors.Is(err, api.ErrTooLarge) || !strings.Contains(err.Error(), "over max_message_size") {
		t.Fatalf("oversize: err = %v, want ErrTooLarge", err)
	}
}
