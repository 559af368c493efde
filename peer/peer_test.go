package peer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/internal/poll"

	gocid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/ipfs/fake"
)

func testCid(t *testing.T, s string) api.Cid {
	t.Helper()
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

func testConfig() servicejson.Config {
	cfg := servicejson.Default()
	cfg.Cluster.ListenMultiaddress = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.API.RestAPI.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	return cfg
}

func startTestPeer(t *testing.T, dir string, backend *fake.Backend) *Peer {
	t.Helper()
	ident, err := identity.Load(dir)
	if err != nil {
		if ident, err = identity.New(); err != nil {
			t.Fatal(err)
		}
		if err := ident.Save(dir); err != nil {
			t.Fatal(err)
		}
	}
	p, err := New(context.Background(), dir, testConfig(), ident, Options{Backend: backend, NoREST: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitStatus(t *testing.T, p *Peer, c api.Cid, want api.TrackerStatus) {
	t.Helper()
	var last api.GlobalPinInfo
	ok := poll.Until(20*time.Second, 20*time.Millisecond, func() bool {
		g, err := p.Status(context.Background(), c, true)
		last = g
		return err == nil && g.PeerMap[p.PeerID().String()].Status == want
	})
	if !ok {
		t.Fatalf("status of %s never became %s: %+v", c, want, last)
	}
}

func TestPeerPinUnpinRestart(t *testing.T) {
	dir := t.TempDir()
	backend := fake.New()
	p := startTestPeer(t, dir, backend)
	ctx := context.Background()
	c := testCid(t, "one")
	pin, err := p.Pin(ctx, c, api.PinOptions{Name: "one"})
	if err != nil {
		t.Fatal(err)
	}
	if pin.ReplicationFactorMin != -1 || len(pin.Allocations) != 0 {
		t.Fatalf("defaults not applied: %+v", pin)
	}
	waitStatus(t, p, c, api.TrackerStatusPinned)
	if !backend.Pinned(c) {
		t.Fatal("backend does not hold the pin")
	}
	if _, err := p.Pin(ctx, c, api.PinOptions{ReplicationFactorMin: 2, ReplicationFactorMax: 3}); err == nil || !strings.Contains(err.Error(), "replication_factor_min") {
		t.Fatalf("replication 2 on one peer: %v", err)
	}
	c2 := testCid(t, "two")
	if _, err := p.Pin(ctx, c2, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Unpin(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Unpin(ctx, c); err == nil {
		t.Fatal("second unpin succeeded")
	}
	waitStatus(t, p, c, api.TrackerStatusUnpinned)
	p.Close()

	p2 := startTestPeer(t, dir, backend)
	defer p2.Close()
	if _, err := p2.PinGet(ctx, c2); err != nil {
		t.Fatalf("pin lost across restart: %v", err)
	}
	if _, err := p2.PinGet(ctx, c); err == nil {
		t.Fatal("unpinned CID back after restart")
	}
	n := 0
	if err := p2.PinsJSON(ctx, func([]byte) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("PinsJSON: %d pins, %v", n, err)
	}
}

func TestPeerExpiredPinsAreUnpinned(t *testing.T) {
	dir := t.TempDir()
	backend := fake.New()
	ident, _ := identity.New()
	cfg := testConfig()
	cfg.Cluster.StateSyncInterval = config.Duration(50 * time.Millisecond)
	p, err := New(context.Background(), dir, cfg, ident, Options{Backend: backend, NoREST: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := testCid(t, "expiring")
	if _, err := p.Pin(context.Background(), c, api.PinOptions{ExpireAt: time.Now().Add(200 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	gone := poll.Until(10*time.Second, 20*time.Millisecond, func() bool {
		_, err := p.PinGet(context.Background(), c)
		return err != nil
	})
	if !gone {
		t.Fatal("expired pin still in the pinset")
	}
}

// TestStateSyncLeavesUnknownIPFSPinsAlone: pins on the IPFS node that the pinset has no record
// of (the operator's own, or content of a peer whose state was cleaned) are never unpinned.
func TestStateSyncLeavesUnknownIPFSPinsAlone(t *testing.T) {
	dir := t.TempDir()
	backend := fake.New()
	c := testCid(t, "operator's own pin")
	if err := backend.Pin(context.Background(), c, api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	ident, _ := identity.New()
	cfg := testConfig()
	cfg.Cluster.StateSyncInterval = config.Duration(20 * time.Millisecond)
	p, err := New(context.Background(), dir, cfg, ident, Options{Backend: backend, NoREST: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Several state sync rounds pass; the pin stays.
	if poll.Until(300*time.Millisecond, 20*time.Millisecond, func() bool { return !backend.Pinned(c) }) {
		t.Fatal("state sync unpinned a CID the pinset never held")
	}
	// A CID the pinset removed is unpinned.
	gone := testCid(t, "removed")
	if _, err := p.Pin(context.Background(), gone, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, p, gone, api.TrackerStatusPinned)
	if _, err := p.Unpin(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(10*time.Second, 20*time.Millisecond, func() bool { return !backend.Pinned(gone) }) {
		t.Fatal("an unpinned CID is still pinned on the IPFS node")
	}
}
