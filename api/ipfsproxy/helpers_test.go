package ipfsproxy_test

import (
	"context"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/peer"
)

func mustCid(t *testing.T, s string) api.Cid {
	t.Helper()
	c, err := api.DecodeCid(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loopbackPeer starts a real single peer whose listeners all take free loopback ports, with
// the defaults but what edit changes, and closes it with the test.
func loopbackPeer(t *testing.T, edit func(*servicejson.Config)) *peer.Peer {
	t.Helper()
	cfg := servicejson.Default()
	cfg.Cluster.ListenMultiaddress = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.API.RestAPI.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.API.IPFSProxy.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.API.PinSvcAPI.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	edit(&cfg)
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	p, err := peer.New(context.Background(), t.TempDir(), cfg, ident, peer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}
