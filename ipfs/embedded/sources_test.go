package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/pincluster/pincluster/api"
)

// TestPinDialsItsSources: B is not connected to A, which holds a file; B knows A's addresses (a
// member's ping metric puts them in the peerstore). Without sources B's pin finds no block;
// with Config.Sources naming A it dials A and pins the file, also when the root alone is
// here already (an attempt cut short).
func TestPinDialsItsSources(t *testing.T) {
	hA, hB := newHost(t), newHost(t)
	a := newNode(t, func(c *Config) { c.Host = hA })
	var asked []api.Cid
	sources := func(c api.Cid) []peer.ID {
		asked = append(asked, c)
		return []peer.ID{hB.ID(), hA.ID()} // itself first: skipped
	}
	b := newNode(t, func(c *Config) { c.Host = hB; c.Sources = sources })
	hB.Peerstore().AddAddrs(hA.ID(), hA.Addrs(), peerstore.TempAddrTTL)

	root, _ := addBytes(t, a, randBytes(30, 50_000), params(func(p *api.AddParams) { p.Chunker = "size-10000" }))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Pin(ctx, root, api.PinModeRecursive, nil); err != nil {
		t.Fatalf("pin with A as a source: %v", err)
	}
	if hB.Network().Connectedness(hA.ID()) != network.Connected {
		t.Fatal("B pinned without a connection to A?")
	}
	if len(asked) != 1 || asked[0] != root {
		t.Fatalf("sources asked for %v, want [%s]", asked, root)
	}

	// C holds the root only (an attempt cut short): it still dials A and completes the pin.
	hC := newHost(t)
	cn := newNode(t, func(c *Config) { c.Host = hC; c.Sources = func(api.Cid) []peer.ID { return []peer.ID{hA.ID()} } })
	hC.Peerstore().AddAddrs(hA.ID(), hA.Addrs(), peerstore.TempAddrTTL)
	blk, err := a.blocks.Get(ctx, root.Cid)
	if err != nil {
		t.Fatal(err)
	}
	if err := cn.blocks.Put(ctx, blk); err != nil {
		t.Fatal(err)
	}
	if err := cn.Pin(ctx, root, api.PinModeRecursive, nil); err != nil {
		t.Fatalf("pin of a root held without its children: %v", err)
	}
	// The fetch's protection of its sources ends with it.
	if hC.ConnManager().IsProtected(hA.ID(), "pincluster-fetch/1") {
		t.Fatal("the source is still protected after the pin")
	}
}

// TestPinWithoutSourcesFindsNothing is the baseline of TestPinDialsItsSources: the same pin
// with no sources fails once pin's context ends (no connected peer has the blocks).
func TestPinWithoutSourcesFindsNothing(t *testing.T) {
	hA, hB := newHost(t), newHost(t)
	a := newNode(t, func(c *Config) { c.Host = hA })
	b := newNode(t, func(c *Config) { c.Host = hB })
	hB.Peerstore().AddAddrs(hA.ID(), hA.Addrs(), peerstore.TempAddrTTL)
	root, _ := addBytes(t, a, randBytes(32, 20_000), params(nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := b.Pin(ctx, root, api.PinModeRecursive, nil); err == nil {
		t.Fatal("pinned blocks no connected peer holds")
	}
}
