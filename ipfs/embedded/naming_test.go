package embedded

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipfs/boxo/ipns"
	"github.com/ipfs/boxo/namesys"
	"github.com/ipfs/boxo/path"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/poll"
)

// unpublishedName is an IPNS name (a fresh key) that nobody publishes.
func unpublishedName(t *testing.T) string {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return ipns.NameFromPeer(id).String()
}

// connectDHT connects b to a and waits until each has the other in its LAN routing table (the
// loopback table), so a record put by one reaches the other.
func connectDHT(t *testing.T, a, b *Node, ha, hb host.Host) {
	t.Helper()
	if err := hb.Connect(testCtx(t), peer.AddrInfo{ID: ha.ID(), Addrs: ha.Addrs()}); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(20*time.Second, 20*time.Millisecond, func() bool {
		return a.names.dht.LAN.RoutingTable().Find(hb.ID()) != "" && b.names.dht.LAN.RoutingTable().Find(ha.ID()) != ""
	}) {
		t.Fatal("the two nodes' DHTs did not add each other")
	}
}

// A name published by another node of the network (its record put in the DHT) resolves on this
// one, with a path under it walked through the DAG the name points to (blocks over bitswap).
func TestResolveIPNSFromAnotherNode(t *testing.T) {
	ha, hb := newHost(t), newHost(t)
	a := newNode(t, func(c *Config) { c.Host = ha })
	b := newNode(t, func(c *Config) { c.Host = hb })
	connectDHT(t, a, b, ha, hb)

	dir := fileDir("hello.txt", []byte("published under a name"))
	var file api.Cid
	root, err := a.Add(testCtx(t), dir, params(func(p *api.AddParams) { p.WrapWithDirectory = true }), func(o api.AddedOutput) {
		if o.Name == "hello.txt" {
			file = o.Cid
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.names.ns.Publish(testCtx(t), ha.Peerstore().PrivKey(ha.ID()), path.FromCid(root.Cid)); err != nil {
		t.Fatalf("publish on A: %v", err)
	}
	name := "/ipns/" + ipns.NameFromPeer(ha.ID()).String()
	got, err := b.Resolve(testCtx(t), name)
	if err != nil || !got.Equals(root.Cid) {
		t.Fatalf("B: Resolve(%s) = %v, %v; want %s", name, got, err, root)
	}
	got, err = b.Resolve(testCtx(t), name+"/hello.txt")
	if err != nil || !got.Equals(file.Cid) {
		t.Fatalf("B: Resolve(%s/hello.txt) = %v, %v; want %s", name, got, err, file)
	}
	// The peer ID form of the name (as `ipfs name publish` prints it) resolves too.
	if got, err = b.Resolve(testCtx(t), "/ipns/"+ha.ID().String()); err != nil || !got.Equals(root.Cid) {
		t.Fatalf("B: Resolve(/ipns/%s) = %v, %v; want %s", ha.ID(), got, err, root)
	}
	if _, err := b.Resolve(testCtx(t), name+"/nope"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("B: Resolve(%s/nope) = %v, want api.ErrNotFound", name, err)
	}
}

// A name nobody published is api.ErrNotFound, quickly when the network has no record, and at
// the latest after the resolve timeout.
func TestResolveIPNSUnpublished(t *testing.T) {
	ha, hb := newHost(t), newHost(t)
	a := newNode(t, func(c *Config) { c.Host = ha; c.ResolveTimeout = 5 * time.Second })
	b := newNode(t, func(c *Config) { c.Host = hb })
	connectDHT(t, a, b, ha, hb)
	offline := newNode(t)
	for _, n := range []*Node{a, offline} {
		name := "/ipns/" + unpublishedName(t)
		start := time.Now()
		_, err := n.Resolve(testCtx(t), name)
		if !errors.Is(err, api.ErrNotFound) {
			t.Fatalf("Resolve(%s) = %v, want api.ErrNotFound", name, err)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Fatalf("Resolve(%s) took %s, past the 5s resolve timeout", name, el)
		}
		t.Logf("Resolve(%s): %v", name, err)
	}
}

// DNSLink names go through namesys' DNS resolver; boxo's IPFS_NS_MAP stands in for DNS here
// (tests stay off the network), so this checks the path handling around it: the name, then the
// rest of the path walked under what it points to.
func TestResolveDNSLink(t *testing.T) {
	seed := newNode(t)
	var file api.Cid
	root, err := seed.Add(testCtx(t), fileDir("index.html", []byte("<p>site</p>")), params(func(p *api.AddParams) { p.WrapWithDirectory = true }), func(o api.AddedOutput) {
		if o.Name == "index.html" {
			file = o.Cid
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	seed.Close() // namesys reads IPFS_NS_MAP when the node opens: reopen the same repo
	t.Setenv("IPFS_NS_MAP", "site.example.test:/ipfs/"+root.String())
	n := newNode(t, func(c *Config) { c.Dir = seed.cfg.Dir })
	got, err := n.Resolve(testCtx(t), "/ipns/site.example.test/index.html")
	if err != nil || !got.Equals(file.Cid) {
		t.Fatalf("Resolve(/ipns/site.example.test/index.html) = %v, %v; want %s", got, err, file)
	}
}

// Closing the node during a resolution ends it with the node's error, not a 404.
func TestResolveIPNSCancelled(t *testing.T) {
	n := newNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := n.Resolve(ctx, "/ipns/"+unpublishedName(t)); errors.Is(err, api.ErrNotFound) || err == nil {
		t.Fatalf("Resolve with a cancelled context = %v, want the cancellation", err)
	}
}

// stalledStore is a routing.ValueStore whose lookups never answer: a DHT whose peers do not
// reply.
type stalledStore struct{}

func (stalledStore) PutValue(ctx context.Context, _ string, _ []byte, _ ...routing.Option) error {
	<-ctx.Done()
	return ctx.Err()
}

func (stalledStore) GetValue(ctx context.Context, _ string, _ ...routing.Option) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (stalledStore) SearchValue(ctx context.Context, _ string, _ ...routing.Option) (<-chan []byte, error) {
	ch := make(chan []byte)
	context.AfterFunc(ctx, func() { close(ch) })
	return ch, nil
}

// A lookup that gets no answer ends at the resolve timeout as api.ErrNotFound, saying so.
func TestResolveIPNSTimeout(t *testing.T) {
	ns, err := namesys.NewNameSystem(stalledStore{})
	if err != nil {
		t.Fatal(err)
	}
	m := &naming{ns: ns}
	p, err := path.NewPath("/ipns/" + unpublishedName(t))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = m.resolve(testCtx(t), p, 300*time.Millisecond)
	if el := time.Since(start); !errors.Is(err, api.ErrNotFound) || el > 5*time.Second {
		t.Fatalf("resolve with a stalled routing = %v after %s, want api.ErrNotFound at about 300ms", err, el)
	}
	t.Logf("resolve: %v", err)
}
