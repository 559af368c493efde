package pinsvc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api/pinsvc"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/peer"
)

func TestConfigValidate(t *testing.T) {
	if err := pinsvc.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if pinsvc.DefaultConfig().ListenMultiaddress != "/ip4/127.0.0.1/tcp/9097" {
		t.Fatal("default listen address is not IPFS Cluster's")
	}
	for _, tc := range []struct {
		mod  func(*pinsvc.Config)
		want string
	}{
		{func(c *pinsvc.Config) { c.ListenMultiaddress = "" }, "api.pinsvcapi.listen_multiaddress: empty"},
		{func(c *pinsvc.Config) { c.ListenMultiaddress = "/ip4/127.0.0.1/udp/9097" }, "only tcp"},
		{func(c *pinsvc.Config) { c.ListenMultiaddress = "127.0.0.1:9097" }, "not a multiaddress"},
		{func(c *pinsvc.Config) { c.ReadTimeout = -1 }, "api.pinsvcapi.read_timeout"},
		{func(c *pinsvc.Config) { c.IdleTimeout = -1 }, "api.pinsvcapi.idle_timeout"},
		{func(c *pinsvc.Config) { c.MaxHeaderBytes = -1 }, "api.pinsvcapi.max_header_bytes"},
	} {
		c := pinsvc.DefaultConfig()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// TestPeerConfigSection: service.json's api.pinsvcapi section is decoded strictly with the rest
// of the file, validated with it, overridden from the environment, and init --randomports
// gives it a port of its own.
func TestPeerConfigSection(t *testing.T) {
	cfg, err := servicejson.Parse([]byte(`{"api":{"pinsvcapi":{"listen_multiaddress":"/ip4/127.0.0.1/tcp/19097","read_timeout":"10s"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.API.PinSvcAPI.ListenMultiaddress != "/ip4/127.0.0.1/tcp/19097" || cfg.API.PinSvcAPI.ReadTimeout.D().String() != "10s" || cfg.API.PinSvcAPI.IdleTimeout == 0 {
		t.Fatalf("%+v", cfg.API.PinSvcAPI)
	}
	if _, err := servicejson.Parse([]byte(`{"api":{"pinsvcapi":{"listen_multiadress":"x"}}}`)); err == nil || !strings.Contains(err.Error(), `api.pinsvcapi: unknown key "listen_multiadress"`) {
		t.Fatalf("unknown key: %v", err)
	}
	cfg.API.PinSvcAPI.ListenMultiaddress = "/ip4/127.0.0.1/udp/1"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "api.pinsvcapi.listen_multiaddress") {
		t.Fatalf("validate: %v", err)
	}
	t.Setenv("CLUSTER_PINSVCAPI_LISTENMULTIADDRESS", "/ip4/127.0.0.1/tcp/29097")
	if err := cfg.ApplyEnv(); err != nil || cfg.API.PinSvcAPI.ListenMultiaddress != "/ip4/127.0.0.1/tcp/29097" {
		t.Fatalf("env: %v %q", err, cfg.API.PinSvcAPI.ListenMultiaddress)
	}
	os.Unsetenv("CLUSTER_PINSVCAPI_LISTENMULTIADDRESS")

	dir := t.TempDir()
	if err := peer.Init(dir, peer.InitOptions{RandomPorts: true, Out: &strings.Builder{}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, config.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := servicejson.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if l := got.API.PinSvcAPI.ListenMultiaddress; l == pinsvc.DefaultListen || l == got.API.IPFSProxy.ListenMultiaddress || l == got.API.RestAPI.ListenMultiaddress {
		t.Fatalf("init --randomports left the pinning service API on %s", l)
	}
}
