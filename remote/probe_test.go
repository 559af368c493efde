package remote

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/network"
	lping "github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/pincluster/pincluster/api"
)

var probeCfg = Config{RequestTimeout: 20 * time.Second, ProbeAfter: 100 * time.Millisecond, ProbeTimeout: 300 * time.Millisecond}

// freeze makes p's host take pings and never answer them, as a paused process does (its
// connections stay open, nothing comes back). A ping stream ends when the pinger resets it,
// as a paused peer's would once it runs again.
func freeze(t *testing.T, p *testPeer) {
	p.h.SetStreamHandler(lping.ID, func(s network.Stream) {
		_, _ = io.Copy(io.Discard, s)
		_ = s.Reset()
	})
}

// A request to a peer that stopped answering fails once a probe goes unanswered, as
// unavailable, instead of waiting for RequestTimeout.
func TestProbeFailsRequestToFrozenPeer(t *testing.T) {
	a, b := pair(t, probeCfg)
	to := a.r.PID(b.h.ID(), "echo")
	if _, err := a.r.Request(context.Background(), to, &ping{Text: "warm"}); err != nil {
		t.Fatal(err)
	}
	freeze(t, b)
	errc := make(chan error, 1)
	go func() {
		_, err := a.r.Request(context.Background(), to, &ping{Text: "sink"})
		errc <- err
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "no libp2p ping answer") {
			t.Fatalf("err = %v, want unavailable: no ping answer", err)
		}
	case <-time.After(probeCfg.RequestTimeout / 2):
		t.Fatal("a request to a frozen peer waited for its timeout")
	}
}

// lateActor answers each ping after delay, from a timer (the actor is free meanwhile).
type lateActor struct {
	system *actor.ActorSystem
	delay  time.Duration
}

func (l lateActor) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*ping); ok {
		sender := ctx.Sender()
		time.AfterFunc(l.delay, func() { l.system.Root.Send(sender, &pong{Text: m.Text}) })
	}
}

// A live peer that answers slowly is waited for through several probe rounds; one that never
// answers but answers its pings times out as before.
func TestProbeWaitsForLivePeer(t *testing.T) {
	a, b := pair(t, probeCfg)
	if _, err := b.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return lateActor{system: b.system, delay: 6 * probeCfg.ProbeAfter}
	}), "late"); err != nil {
		t.Fatal(err)
	}
	v, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), "late"), &ping{Text: "slow"})
	if err != nil || v.(*pong).Text != "slow" {
		t.Fatalf("slow answer: %v, %v", v, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*probeCfg.ProbeAfter)
	defer cancel()
	_, err = a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &ping{Text: "sink"})
	if !errors.Is(err, api.ErrTimeout) {
		t.Fatalf("no answer from a live peer: err = %v, want a timeout", err)
	}
}

// The caller giving up is reported as such while a probe round is under way.
func TestProbeKeepsCallerCancel(t *testing.T) {
	a, b := pair(t, probeCfg)
	freeze(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(probeCfg.ProbeAfter+probeCfg.ProbeTimeout/3, cancel)
	_, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &ping{Text: "sink"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the caller's cancel", err)
	}
}

// chattyActor never answers a ping, but on one it makes its peer talk to the asker's peer for
// a while (n messages to the PID in the ping's text... here: to echo on the asker's peer).
type chattyActor struct {
	system *actor.ActorSystem
	n      int
	every  time.Duration
}

func (c chattyActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*ping); ok {
		to := actor.NewPID(ctx.Sender().Address, "echo")
		for i := 1; i <= c.n; i++ {
			time.AfterFunc(time.Duration(i)*c.every, func() { c.system.Root.Send(to, &ping{Text: "chat"}) })
		}
	}
}

// A peer that leaves its pings unanswered but keeps sending (a large answer on a slow link
// delays a ping's echo behind it) is not taken for hung: the request waits its full time.
func TestProbeBytesFromPeerKeepItAlive(t *testing.T) {
	a, b := pair(t, probeCfg)
	spawnEcho(t, a)
	if _, err := b.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return chattyActor{system: b.system, n: 40, every: 50 * time.Millisecond}
	}), "chatty"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "warm"}); err != nil {
		t.Fatal(err)
	}
	freeze(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*probeCfg.ProbeAfter)
	defer cancel()
	_, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "chatty"), &ping{Text: "sink"})
	if !errors.Is(err, api.ErrTimeout) {
		t.Fatalf("err = %v, want a timeout: the peer was sending all along", err)
	}
}

// A caller's deadline longer than RequestTimeout is honoured (up to twice it): the batch
// ingest's wait for the other members (15 s) was cut at the 10 s default.
func TestRequestHonoursALongerDeadline(t *testing.T) {
	cfg := Config{RequestTimeout: 500 * time.Millisecond}
	a, b := pair(t, cfg)
	if _, err := b.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return lateActor{system: b.system, delay: 700 * time.Millisecond}
	}), "late"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
	defer cancel()
	if _, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "late"), &ping{Text: "x"}); err != nil {
		t.Fatalf("an answer within the caller's deadline: %v", err)
	}
	if _, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), "late"), &ping{Text: "x"}); !errors.Is(err, api.ErrTimeout) {
		t.Fatalf("no deadline: err = %v, want RequestTimeout to apply", err)
	}
}
