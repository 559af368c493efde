package testcluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/crdt"
)

// peerIDs lists the cluster peers that peer i reports in Peers.
func (c *Cluster) peerIDs(t *testing.T, i int) map[libp2ppeer.ID]bool {
	t.Helper()
	out := map[libp2ppeer.ID]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Peer(i).Peers(ctx, func(id api.ID) error { out[id.ID] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWrongSecretCannotJoin: a peer with another cluster secret cannot connect (the private
// network handshake fails) and never shows up in the others' peer lists.
func TestWrongSecretCannotJoin(t *testing.T) {
	c := New(t, 3, WithStarted(2), WithConfig(func(i int, cfg *servicejson.Config) {
		if i == 2 {
			cfg.Cluster.Secret = config.NewSecret()
		}
	}))
	c.Start(2) // bootstraps to peers 0 and 1, and fails
	info, err := libp2ppeer.AddrInfoFromString(c.Addr(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Probe(2).Host().Connect(ctx, *info); err == nil {
		t.Fatal("a host with another secret connected to peer 0")
	}
	c.Consistently(func() bool {
		for _, i := range []int{0, 1} {
			if c.peerIDs(t, i)[c.ID(2)] || len(c.Probe(i).Host().Network().ConnsToPeer(c.ID(2))) > 0 {
				return false
			}
		}
		return len(c.Probe(2).Host().Network().Peers()) == 0
	}, 2*time.Second, "the peer with the wrong secret stays out")
	if got := c.peerIDs(t, 0); len(got) != 2 {
		t.Fatalf("peer 0 lists %d peers, want 2: %v", len(got), got)
	}
}

// TestUntrustedOpsIgnored: peer 0 trusts only peers 0 and 1. Ops made on peer 2 reach peer 1
// (which trusts everyone) but never peer 0, neither by gossip nor relayed by peer 1's
// anti-entropy, while peer 1's own ops do.
func TestUntrustedOpsIgnored(t *testing.T) {
	ids := newIdentities(t, 3)
	c := New(t, 3, WithIdentities(ids...), WithConfig(func(i int, cfg *servicejson.Config) {
		if i == 0 {
			cfg.Consensus.CRDT.TrustedPeers = []string{ids[0].ID.String(), ids[1].ID.String()}
		}
	}))
	ctx := context.Background()
	x, y := Cid("untrusted-x"), Cid("trusted-y")
	if _, err := c.Peer(2).Pin(ctx, x, api.PinOptions{Name: "from-untrusted"}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.HasPin(1, x) }, 10*time.Second, "x reaches peer 1")
	if _, err := c.Peer(1).Pin(ctx, y, api.PinOptions{Name: "from-trusted"}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.HasPin(0, y) && c.HasPin(2, y) }, 10*time.Second, "y reaches peers 0 and 2")
	// Several anti-entropy rounds (500ms) in which peer 0 pulls from peer 1, which holds x.
	c.Consistently(func() bool { return !c.HasPin(0, x) }, 2*time.Second, "peer 0 must ignore peer 2's op")
	// An unpin from the untrusted peer is ignored too.
	if _, err := c.Peer(2).Unpin(ctx, y); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return !c.HasPin(1, y) }, 10*time.Second, "peer 1 applies peer 2's unpin")
	c.Consistently(func() bool { return c.HasPin(0, y) }, 2*time.Second, "peer 0 keeps y")
}

// intruder is a libp2p host with the cluster secret (so it can join the private network) and
// its own gossipsub, joined to the pinset topic.
type intruder struct {
	h     host.Host
	key   crypto.PrivKey
	topic *pubsub.Topic
}

func newIntruder(t *testing.T, c *Cluster) *intruder {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	psk, err := hex.DecodeString(c.Secret())
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.PrivateNetwork(pnet.PSK(psk)), libp2p.Security(noise.ID, noise.New),
		libp2p.Transport(tcp.NewTCPTransport), libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); h.Close() })
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithMessageSignaturePolicy(pubsub.StrictSign))
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(c.Config(0).Consensus.CRDT.ClusterName + "/pinset")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range c.Running() {
		info, _ := libp2ppeer.AddrInfoFromString(c.Addr(i))
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		err := h.Connect(cctx, *info)
		ccancel()
		if err != nil {
			t.Fatalf("intruder cannot connect to peer %d: %v", i, err)
		}
	}
	c.WaitFor(func() bool {
		seen := map[libp2ppeer.ID]bool{}
		for _, id := range topic.ListPeers() {
			seen[id] = true
		}
		for _, i := range c.Running() {
			if !seen[c.ID(i)] {
				return false
			}
		}
		return true
	}, 10*time.Second, "the intruder sees every peer on the pinset topic")
	return &intruder{h: h, key: key, topic: topic}
}

// batch is a one-op pin batch of cid from origin, signed with key.
func batch(t *testing.T, origin libp2ppeer.ID, seq uint64, cid api.Cid, key crypto.PrivKey) []byte {
	t.Helper()
	pin := api.NewPin(cid, api.PinOptions{Name: "forged", ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	pin.Allocations = []libp2ppeer.ID{}
	pin.Timestamp = time.Now().UTC()
	pj, err := json.Marshal(pin)
	if err != nil {
		t.Fatal(err)
	}
	b := crdt.Batch{Origin: origin, Ops: []crdt.Op{{Origin: origin, Seq: seq, Clock: crdt.MakeHLC(time.Now().UnixMilli(), 0),
		Kind: crdt.OpPin, Cid: cid, PinJSON: pj}}}
	if key != nil {
		if b.Signature, err = key.Sign(b.SigningBytes()); err != nil {
			t.Fatal(err)
		}
	}
	return crdt.MarshalBatch(b)
}

// TestForgedBatchRejected: a host on the private network publishes batches claiming to come
// from peer 1, signed with its own key or not at all; no peer applies them. The same host's
// correctly signed batch of its own ops is applied (the path works).
func TestForgedBatchRejected(t *testing.T) {
	c := New(t, 3)
	in := newIntruder(t, c)
	ctx := context.Background()
	forged, unsigned, honest := Cid("forged"), Cid("unsigned"), Cid("honest")
	if err := in.topic.Publish(ctx, batch(t, c.ID(1), 1000, forged, in.key)); err != nil {
		t.Fatal(err)
	}
	if err := in.topic.Publish(ctx, batch(t, c.ID(1), 1001, unsigned, nil)); err != nil {
		t.Fatal(err)
	}
	if err := in.topic.Publish(ctx, batch(t, in.h.ID(), 1, honest, in.key)); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.HasPin(0, honest) && c.HasPin(1, honest) && c.HasPin(2, honest) }, 10*time.Second,
		"the intruder's own signed batch is applied everywhere")
	c.Consistently(func() bool {
		for i := 0; i < 3; i++ {
			if c.HasPin(i, forged) || c.HasPin(i, unsigned) {
				return false
			}
		}
		return true
	}, 1500*time.Millisecond, "forged batches are never applied")
}
