package servicejson

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"cluster": {"peername": "x", "bogus": 1}}`, "bogus"},
		{`{"cluster": {"state_sync_interval": "5x"}}`, "5x"},
		{`{"pin_tracker": {"concurrent_pins": "ten"}}`, "concurrent_pins"},
	} {
		_, err := Parse([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.json, err, tc.want)
		}
	}
	cfg := Default()
	cfg.Cluster.ReplicationFactorMin = 3
	cfg.Cluster.ReplicationFactorMax = 2
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "replication_factor") {
		t.Fatalf("validate: %v", err)
	}
	t.Setenv("CLUSTER_PEERNAME", "from-env")
	t.Setenv("PINCLUSTER_PIN_TRACKER_CONCURRENT_PINS", "3")
	cfg = Default()
	if err := cfg.ApplyEnv(); err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.Peername != "from-env" || cfg.Tracker.ConcurrentPins != 3 {
		t.Fatalf("env overrides not applied: %+v %+v", cfg.Cluster.Peername, cfg.Tracker.ConcurrentPins)
	}
}

func TestRESTAPIEnvOverride(t *testing.T) {
	t.Setenv("PINCLUSTER_RESTAPI_LISTEN_MULTIADDRESS", "/ip4/127.0.0.1/tcp/19999")
	cfg := Default()
	if err := cfg.ApplyEnv(); err != nil {
		t.Fatal(err)
	}
	if cfg.API.RestAPI.ListenMultiaddress != "/ip4/127.0.0.1/tcp/19999" {
		t.Fatalf("restapi env ignored: %q", cfg.API.RestAPI.ListenMultiaddress)
	}
}

// Peers initialized side by side (p1, p2, ... under one folder) never share a port, even
// though each init sees the others' ports as free.
func TestRandomizePortsSkipsSiblingPeers(t *testing.T) {
	root := t.TempDir()
	seen := map[string]string{}
	for _, name := range []string{"p1", "p2", "p3", "p4", "p5", "p6"} {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		cfg := Default()
		if err := cfg.RandomizePorts(dir); err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{cfg.Cluster.ListenMultiaddress[0], cfg.API.RestAPI.ListenMultiaddress,
			cfg.API.IPFSProxy.ListenMultiaddress, cfg.API.PinSvcAPI.ListenMultiaddress,
			cfg.Observations.Metrics.PrometheusEndpoint} {
			port := a[strings.LastIndex(a, "/")+1:]
			if other, ok := seen[port]; ok {
				t.Fatalf("%s and %s both got port %s", other, name, port)
			}
			seen[port] = name
		}
		if err := cfg.Save(dir); err != nil {
			t.Fatal(err)
		}
	}
	got := siblingPorts(filepath.Join(root, "p1"))
	for port, owner := range seen {
		n, _ := strconv.Atoi(port)
		if got[n] != (owner != "p1") {
			t.Errorf("port %s of %s: in p1's sibling ports = %v", port, owner, got[n])
		}
	}
}
