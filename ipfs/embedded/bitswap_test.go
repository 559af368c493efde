package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

func newHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// A file added on A is pinned on B over bitswap, with progress, and B then holds every block.
func TestBitswapBetweenTwoNodes(t *testing.T) {
	hA, hB := newHost(t), newHost(t)
	a := newNode(t, func(c *Config) { c.Host = hA })
	b := newNode(t, func(c *Config) { c.Host = hB })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hB.Connect(ctx, peer.AddrInfo{ID: hA.ID(), Addrs: hA.Addrs()}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(20, 200_000)
	root, _ := addBytes(t, a, data, params(func(p *api.AddParams) { p.Chunker = "size-10000" }))

	var last uint64
	if err := b.Pin(ctx, root, api.PinModeRecursive, func(n uint64) { last = n }); err != nil {
		t.Fatalf("pin on B: %v", err)
	}
	if last != 21 { // 20 leaves + root
		t.Fatalf("progress reached %d, want 21", last)
	}
	if got := readBack(t, b, root.Cid); string(got) != string(data) {
		t.Fatal("B's copy differs")
	}
	if n := countBlocks(t, b); n != 21 {
		t.Fatalf("B holds %d blocks, want 21", n)
	}

	// A direct pin of another root fetches only that block.
	dir, _ := addBytes(t, a, randBytes(21, 30_000), params(func(p *api.AddParams) { p.Chunker = "size-10000" }))
	if err := b.Pin(ctx, dir, api.PinModeDirect, nil); err != nil {
		t.Fatal(err)
	}
	if n := countBlocks(t, b); n != 22 {
		t.Fatalf("B holds %d blocks after a direct pin, want 22", n)
	}
}
