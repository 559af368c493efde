package membership

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// fakeNet is a network where a peer is reachable when up; Connect records each dial.
type fakeNet struct {
	mu        sync.Mutex
	up        map[peer.ID]bool
	connected map[peer.ID]bool
	dials     map[peer.ID]int
}

func newFakeNet() *fakeNet {
	return &fakeNet{up: map[peer.ID]bool{}, connected: map[peer.ID]bool{}, dials: map[peer.ID]int{}}
}

func (n *fakeNet) Connect(_ context.Context, pi peer.AddrInfo) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dials[pi.ID]++
	if !n.up[pi.ID] {
		return errors.New("connection refused")
	}
	n.connected[pi.ID] = true
	return nil
}

func (n *fakeNet) IsConnected(id peer.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.connected[id]
}

func (n *fakeNet) Protect(peer.ID, bool) {}

func (n *fakeNet) set(id peer.ID, up bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.up[id] = up
	if !up {
		n.connected[id] = false
	}
}

func (n *fakeNet) dialCount(id peer.ID) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dials[id]
}

func newID(t *testing.T) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitFor(t *testing.T, cond func() bool, d time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", d, what)
		}
		<-time.After(10 * time.Millisecond)
	}
}

// TestRedialsUntilReachableAndSaves: a bootstrap member that is down is redialled with
// backoff until it comes up; a lost connection is redialled; the peerstore file lists the
// member as soon as it is known; a forgotten member is never dialled again.
func TestRedialsUntilReachableAndSaves(t *testing.T) {
	self, other := newID(t), newID(t)
	addr := ma.StringCast("/ip4/127.0.0.1/tcp/4001")
	net := newFakeNet()
	path := filepath.Join(t.TempDir(), "peerstore")
	system := actor.NewActorSystem()
	m, err := Spawn(system.Root, self, net, Config{PeerstorePath: path, TickInterval: 10 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	m.Bootstrap([]peer.AddrInfo{{ID: other, Addrs: []ma.Multiaddr{addr}}})
	waitFor(t, func() bool { return net.dialCount(other) >= 3 }, 5*time.Second, "redials of a member that is down")
	waitFor(t, func() bool {
		b, _ := os.ReadFile(path)
		return strings.Contains(string(b), "/ip4/127.0.0.1/tcp/4001/p2p/"+other.String())
	}, 5*time.Second, "the peerstore file lists the member")
	net.set(other, true)
	waitFor(t, func() bool { return net.IsConnected(other) }, 5*time.Second, "connected once the member is up")
	net.set(other, false)
	m.Disconnected(other)
	before := net.dialCount(other)
	waitFor(t, func() bool { return net.dialCount(other) > before }, 5*time.Second, "a lost member is redialled")
	m.Forget(other)
	n, _ := m.ConnectedCount(context.Background()) // a round trip: Forget was handled
	_ = n
	after := net.dialCount(other)
	<-time.After(200 * time.Millisecond)
	if got := net.dialCount(other); got > after+1 { // at most one dial was already in flight
		t.Fatalf("a forgotten member was dialled %d more times", got-after)
	}
}

// TestStartsFromThePeerstoreFile: a (re)started actor dials the members its file lists,
// skipping bad lines.
func TestStartsFromThePeerstoreFile(t *testing.T) {
	self, other := newID(t), newID(t)
	path := filepath.Join(t.TempDir(), "peerstore")
	content := "# members\n\nnot-a-multiaddr\n/ip4/127.0.0.1/tcp/4001/p2p/" + other.String() + "\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	net := newFakeNet()
	net.set(other, true)
	system := actor.NewActorSystem()
	m, err := Spawn(system.Root, self, net, Config{PeerstorePath: path, TickInterval: 10 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	waitFor(t, func() bool { return net.IsConnected(other) }, 5*time.Second, "the member of the file is dialled")
}
