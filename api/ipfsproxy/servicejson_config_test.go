package ipfsproxy_test

import (
	"strings"
	"testing"

	"github.com/pincluster/pincluster/config/servicejson"
)

// TestPeerConfigSection: service.json's api.ipfsproxy section is decoded strictly with the rest
// of the file, and validated with the ipfs_connector section it depends on.
func TestPeerConfigSection(t *testing.T) {
	cfg, err := servicejson.Parse([]byte(`{"api":{"ipfsproxy":{"listen_multiaddress":"/ip4/127.0.0.1/tcp/19095"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.API.IPFSProxy.ListenMultiaddress != "/ip4/127.0.0.1/tcp/19095" || cfg.API.RestAPI.ListenMultiaddress == "" {
		t.Fatalf("%+v", cfg.API)
	}
	if _, err := servicejson.Parse([]byte(`{"api":{"ipfsproxy":{"extract_headers_path":"/api/v0/version"}}}`)); err == nil || !strings.Contains(err.Error(), "api.ipfsproxy") || !strings.Contains(err.Error(), "extract_headers_path") {
		t.Fatalf("unknown key: %v", err)
	}
	cfg, err = servicejson.Parse([]byte(`{"api":{"ipfsproxy":{"node_multiaddress":"/ip4/127.0.0.1/tcp/5001"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "only used with the kubo backend") {
		t.Fatalf("node_multiaddress with the embedded backend: %v", err)
	}
	cfg.IPFS.Backend = "kubo"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLUSTER_IPFSPROXY_LISTENMULTIADDRESS", "/ip4/127.0.0.1/tcp/29095")
	if err := cfg.ApplyEnv(); err != nil || cfg.API.IPFSProxy.ListenMultiaddress != "/ip4/127.0.0.1/tcp/29095" {
		t.Fatalf("env: %v %q", err, cfg.API.IPFSProxy.ListenMultiaddress)
	}
}
