package gossip

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// joinsSeen records the peers readJoins reports.
type joinsSeen chan peer.ID

func (j joinsSeen) Merge(peer.ID, []api.TokenRecord) {}
func (j joinsSeen) Joined(id peer.ID)                { j <- id }

// TestJoinsReachTokens: a peer whose subscription to the tokens topic arrives is reported to
// the tokens actor (which publishes its recent records again for it).
func TestJoinsReachTokens(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	newHost := func() host.Host {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	a, b := newHost(), newHost()
	ta, err := Join(ctx, a, "joins-test")
	if err != nil {
		t.Fatal(err)
	}
	defer ta.Close()
	o, err := ta.subscriptions()
	if err != nil {
		t.Fatal(err)
	}
	defer o.cancel()
	seen := make(joinsSeen, 8)
	go func() { _ = readJoins(ctx, o.joins, seen) }()

	tb, err := Join(ctx, b, "joins-test")
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	if err := b.Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()}); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-seen:
		if id != b.ID() {
			t.Fatalf("joined: %s, want %s", id, b.ID())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no join reported for a peer subscribed to the tokens topic")
	}
}
