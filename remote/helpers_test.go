package remote

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	lping "github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/pincluster/pincluster/internal/poll"
)

// Test messages.
type ping struct{ Text string }
type pong struct{ Text string }
type blob struct{ Data []byte }
type unknownToB struct{ N int }

// blobCodec carries raw bytes, so the frame size is the payload size plus addressing.
var blobCodec = Codec{
	Name: "test.blob", Version: 1,
	New:     func() any { return new(blob) },
	Marshal: func(v any) ([]byte, error) { return v.(*blob).Data, nil },
	Unmarshal: func(b []byte, v any) error {
		v.(*blob).Data = append([]byte(nil), b...)
		return nil
	},
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testRegistry(t testing.TB, extra ...Codec) *Registry {
	t.Helper()
	reg := NewRegistry()
	for _, c := range append([]Codec{JSONCodec[ping]("test.ping", 1), JSONCodec[pong]("test.pong", 1), blobCodec}, extra...) {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// testPeer is one libp2p host with an actor system and its Remote.
type testPeer struct {
	h      host.Host
	system *actor.ActorSystem
	r      *Remote
}

func newTestPeer(t testing.TB, cfg Config, reg *Registry) *testPeer {
	t.Helper()
	traffic := &TrafficCounter{}
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.BandwidthReporter(traffic))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Traffic == nil {
		cfg.Traffic = traffic.Traffic
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLog() }))
	r, err := New(h, system, reg, cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	p := &testPeer{h: h, system: system, r: r}
	t.Cleanup(func() {
		_ = r.Close()
		_ = h.Close()
		system.Shutdown()
	})
	return p
}

// pair returns two connected peers with the test registry and an echo actor named "echo" on b.
func pair(t testing.TB, cfg Config) (a, b *testPeer) {
	t.Helper()
	a = newTestPeer(t, cfg, testRegistry(t))
	b = newTestPeer(t, cfg, testRegistry(t))
	connect(t, a, b)
	spawnEcho(t, b)
	return a, b
}

func connect(t testing.TB, a, b *testPeer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.h.Connect(ctx, peer.AddrInfo{ID: b.h.ID(), Addrs: b.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// echoActor answers ping with pong and blob with the same blob; "sink" is never answered and
// "whoami" is answered with the sender PID as the target saw it.
type echoActor struct{}

func (echoActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *ping:
		switch m.Text {
		case "sink":
			return
		case "whoami":
			ctx.Respond(&pong{Text: ctx.Sender().Address + "/" + ctx.Sender().Id})
			return
		}
		ctx.Respond(&pong{Text: m.Text})
	case *blob:
		ctx.Respond(m)
	}
}

func spawnEcho(t testing.TB, p *testPeer) {
	t.Helper()
	if _, err := p.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return echoActor{} }), "echo"); err != nil {
		t.Fatal(err)
	}
}

// requester asks a PID with ctx.Request and reports what comes back in Receive.
type askCmd struct {
	to  *actor.PID
	msg any
}

type requester struct{ got chan<- any }

func (q *requester) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *askCmd:
		ctx.Request(m.to, m.msg)
	case *pong, *RemoteError:
		q.got <- m
	}
}

// wait returns the next value from ch, failing the test after d.
func wait[T any](t *testing.T, ch <-chan T, d time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("nothing received within %s", d)
		var zero T
		return zero
	}
}

// waitPingKnown waits until h's peerstore says id speaks the ping protocol, as identify tells
// it (Connect waits for identify on the dialling side only): requests to a peer not known to
// answer pings are not probed.
func waitPingKnown(t testing.TB, h host.Host, id peer.ID) {
	t.Helper()
	known := poll.Until(10*time.Second, time.Millisecond, func() bool {
		ok, err := h.Peerstore().SupportsProtocols(id, lping.ID)
		return err == nil && len(ok) > 0
	})
	if !known {
		t.Fatalf("identify did not tell that %s answers pings", id)
	}
}
