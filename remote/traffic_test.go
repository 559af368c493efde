package remote

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/internal/poll"
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
	b.SetStreamHandler(bulkProto, func(s network.Stream) {
		if _, err := io.ReadFull(s, make([]byte, len("hello"))); err == nil {
			_, _ = s.Write([]byte("ok"))
		}
		_, _ = io.Copy(io.Discard, s)
	})
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
	// Nothing of b's is read after the disconnection but by this test: bytes read before it
	// and counted after the notification bring the entry back too (b's answer to the stream's
	// lazy handshake, read a byte at a time; the negotiation of b's identify stream). Reading
	// b's answer waits for the handshake; no other stream is left on the connection once the
	// identify exchanges, each way, have ended.
	if _, err := io.ReadFull(s, make([]byte, len("ok"))); err != nil {
		t.Fatal(err)
	}
	var streams []network.Stream
	alone := poll.Until(10*time.Second, time.Millisecond, func() bool {
		streams = nil
		for _, conn := range a.Network().ConnsToPeer(b.ID()) {
			streams = append(streams, conn.GetStreams()...)
		}
		return len(streams) == 1
	})
	if !alone {
		t.Fatalf("%d streams with b, want only the test's", len(streams))
	}
	if _, ok := c.peers.Load(b.ID()); !ok {
		t.Fatal("no traffic counted to b before the disconnection")
	}
	_ = a.Network().ClosePeer(b.ID())
	if a.Network().Connectedness(b.ID()) == network.Connected {
		t.Fatal("still connected")
	}
	// The Disconnected notification has run (Forget): the entry is gone.
	gone := poll.Until(10*time.Second, time.Millisecond, func() bool {
		_, ok := c.peers.Load(b.ID())
		return !ok
	})
	if !gone {
		t.Fatal("the disconnected peer's entry was never dropped (or was back at once)")
	}
	// A reader that wakes on the reset (an endpoint's reader, a stream's handshake reader)
	// reports Read's 0 bytes.
	if _, err := s.Read(make([]byte, 1)); err == nil {
		t.Fatal("a read from a closed connection succeeded")
	}
	if _, ok := c.peers.Load(b.ID()); ok {
		t.Fatal("a disconnected peer's entry is back: a reader's failed 0-byte Read after Forget")
	}
	// And a writer that has not noticed yet (endpoint.run's next Flush, gossipsub's).
	_, _ = s.Write([]byte("late"))
	if _, ok := c.peers.Load(b.ID()); ok {
		t.Fatal("a disconnected peer's entry is back after a failed 0-byte Write")
	}
	// Bytes read before the disconnection and reported after the notification (a lazy
	// handshake's reader, an identify stream's negotiation) keep it out too.
	c.LogRecvMessageStream(7, bulkProto, b.ID())
	c.LogSentMessageStream(7, bulkProto, b.ID())
	if _, ok := c.peers.Load(b.ID()); ok {
		t.Fatal("a disconnected peer's entry is back after bytes reported late")
	}
	// Connected again, it is counted again.
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
	c.LogRecvMessageStream(7, bulkProto, b.ID())
	if in, _ := c.Traffic(b.ID()); in < 7 {
		t.Fatalf("reconnected: %d bytes counted in, want at least 7", in)
	}
}
