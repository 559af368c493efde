package servicejson

import (
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
