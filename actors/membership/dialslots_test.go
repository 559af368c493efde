package membership

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// slowNet is a network whose handshakes take a while: it records the most dials in flight at
// once.
type slowNet struct {
	mu             sync.Mutex
	inFlight, most int
	connected      map[peer.ID]bool
	handshake      time.Duration
}

func (n *slowNet) Connect(ctx context.Context, pi peer.AddrInfo) error {
	n.mu.Lock()
	n.inFlight++
	n.most = max(n.most, n.inFlight)
	n.mu.Unlock()
	select {
	case <-time.After(n.handshake):
	case <-ctx.Done():
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.inFlight--
	if ctx.Err() != nil {
		return ctx.Err()
	}
	n.connected[pi.ID] = true
	return nil
}

func (n *slowNet) IsConnected(id peer.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.connected[id]
}

func (n *slowNet) Protect(peer.ID, bool) {}

// TestDialsAreBounded: a peer that learns many members at once (joining a large cluster)
// dials at most MaxDials of them at a time, and still reaches all of them.
func TestDialsAreBounded(t *testing.T) {
	const members, slots = 40, 4
	net := &slowNet{connected: map[peer.ID]bool{}, handshake: 20 * time.Millisecond}
	system := actor.NewActorSystem()
	m, err := Spawn(system.Root, newID(t), net, Config{TickInterval: 5 * time.Millisecond, MaxDials: slots}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	var infos []peer.AddrInfo
	for range members {
		infos = append(infos, peer.AddrInfo{ID: newID(t), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4001")}})
	}
	m.Bootstrap(infos)
	waitFor(t, func() bool {
		n, _ := m.ConnectedCount(context.Background())
		return n == members
	}, 10*time.Second, "every member connected")
	net.mu.Lock()
	defer net.mu.Unlock()
	if net.most > slots {
		t.Fatalf("%d dials in flight at once; MaxDials is %d", net.most, slots)
	}
	if net.most < 2 {
		t.Fatalf("at most %d dial in flight: dials are not concurrent", net.most)
	}
}
