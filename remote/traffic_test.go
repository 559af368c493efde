package remote

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ForgetOnDisconnect is undone by the calls libp2p makes after a disconnection: the swarm
// reports every Read and Write, 0 bytes included, so a stream's Read or Write that fails once
// the connection is gone (an endpoint's writer, a reader waking on the reset) recreates the
// forgotten peer's entry, and nothing forgets it again until that peer connects and
// disconnects once more. Peers that left the cluster keep an entry for good.
func TestTrafficForgetSurvivesLateZeroByteCalls(t *testing.T) {
	c := &TrafficCounter{}
	a, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.BandwidthReporter(c))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c.ForgetOnDisconnect(a.Network())
	b, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.SetStreamHandler(bulkProto, func(s network.Stream) { _, _ = io.Copy(io.Discard, s) })
	ctx := context.Background()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
	s, err := a.NewStream(ctx, b.ID(), bulkProto)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = a.Network().ClosePeer(b.ID())
	time.Sleep(300 * time.Millisecond) // the Disconnected notification has run (Forget)
	if a.Network().Connectedness(b.ID()) == network.Connected {
		t.Fatal("still connected")
	}
	// Often already back here: the stream's lazy multistream handshake reader wakes on the
	// reset after the notification and reports Read's 0 bytes.
	if _, ok := c.peers.Load(b.ID()); ok {
		t.Fatal("a disconnected peer's entry is back: a reader's failed 0-byte Read after Forget")
	}
	// Otherwise a writer that has not noticed yet (endpoint.run's next Flush, gossipsub's).
	_, _ = s.Write([]byte("late"))
	if _, ok := c.peers.Load(b.ID()); ok {
		t.Fatal("a disconnected peer's entry is back after a failed 0-byte Write")
	}
}
