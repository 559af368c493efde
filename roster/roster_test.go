package roster

import (
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/persistence"
	"github.com/pincluster/pincluster/remote"
)

// TestTrustRules: trusted_peers decides, a removed peer is refused for good except for the
// ops it made up to its cutoff, and this peer is always trusted.
func TestTrustRules(t *testing.T) {
	store, err := persistence.Open(persistence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	self, a, b, c := peer.ID("self"), peer.ID("a"), peer.ID("b"), peer.ID("c")
	r, err := New(Config{Self: self, Peername: "me", TrustedPeers: []string{a.String(), b.String()}}, nil, store, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.remove(b, 10)
	for _, tc := range []struct {
		id                      peer.ID
		config, trusted, remove bool
	}{
		{self, true, true, false},
		{a, true, true, false},
		{b, true, false, true},
		{c, false, false, false},
	} {
		if got := r.ConfigTrusted(tc.id); got != tc.config {
			t.Errorf("ConfigTrusted(%s) = %v", tc.id, got)
		}
		if got := r.Trusted(tc.id); got != tc.trusted {
			t.Errorf("Trusted(%s) = %v", tc.id, got)
		}
		if got := r.IsRemoved(tc.id); got != tc.remove {
			t.Errorf("IsRemoved(%s) = %v", tc.id, got)
		}
	}
	if !r.TrustedOp(b, 10) || r.TrustedOp(b, 11) || !r.TrustedOp(a, 99) || r.TrustedOp(c, 1) {
		t.Error("TrustedOp: a removed peer's ops are valid up to its cutoff only")
	}
	r.remove(b, 5) // a lower cutoff never lowers the one known
	if cutoff, ok := r.Cutoff(b); !ok || cutoff != 10 {
		t.Errorf("Cutoff(b) = %d, %v", cutoff, ok)
	}
	if r.PeerName(self) != "me" || r.PeerName(a) != a.String() {
		t.Error("PeerName")
	}
	if got := r.List(); len(got) != 1 || got[0] != b {
		t.Errorf("List = %v", got)
	}
}

// A report of this peer's own removal, by anti-entropy or by a removal announcement, is
// handed to OnSelfRemoved's function (the peer stops); this peer is never forgotten here.
func TestOwnRemovalIsTold(t *testing.T) {
	store, err := persistence.Open(persistence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	self, a := peer.ID("self"), peer.ID("a")
	r, err := New(Config{Self: self, TrustedPeers: []string{"*"}}, nil, store, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.LearnRemovals(map[peer.ID]uint64{self: 3}) // no function set: logged only
	told := 0
	r.OnSelfRemoved(func() { told++ })
	r.LearnRemovals(map[peer.ID]uint64{self: 3})
	r.Forget(self, 3)
	if told != 2 {
		t.Fatalf("own removal told %d times, want 2", told)
	}
	if r.IsRemoved(self) || !r.Trusted(self) || r.IsRemoved(a) {
		t.Fatal("this peer's own removal changed its own view")
	}
}

// A connected peer that does not serve the cluster's protocol (an IPFS node sharing the
// private network, a bitswap peer of the embedded node) is not a member; one that does is,
// and so is one whose protocols identify has not told yet.
func TestConnectedIsClusterPeersOnly(t *testing.T) {
	store, err := persistence.Open(persistence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	hosts := make([]host.Host, 3)
	for i := range hosts {
		if hosts[i], err = libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0")); err != nil {
			t.Fatal(err)
		}
		defer hosts[i].Close()
	}
	self, member, ipfsNode := hosts[0], hosts[1], hosts[2]
	member.SetStreamHandler(remote.ProtocolID, func(s network.Stream) { _ = s.Reset() })
	r, err := New(Config{Self: self.ID(), TrustedPeers: []string{"*"}}, self, store, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, h := range []host.Host{member, ipfsNode} {
		if err := self.Connect(t.Context(), peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.Connected()
		if len(got) == 1 && got[0] == member.ID() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Connected = %v, want only the member %s (the IPFS node is %s)", got, member.ID(), ipfsNode.ID())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
