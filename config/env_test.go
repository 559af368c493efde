package config

import (
	"errors"
	"testing"
)

// An override is named by a Validate error that names its key, whole or as a leaf beside its
// parent's path, and not by one about another key that merely contains its name.
func TestEnvOverridesNamed(t *testing.T) {
	env := EnvOverrides{
		{Key: "cluster.secret", Var: "CLUSTER_SECRET"},
		{Key: "cluster.connection_manager.low_water", Var: "CLUSTER_CONNECTION_MANAGER_LOW_WATER"},
		{Key: "ipfs_connector.pin_timeout", Var: "PINCLUSTER_IPFS_CONNECTOR_PIN_TIMEOUT"},
		{Key: "crdt.cluster_name", Var: "X"},
	}
	for _, tc := range []struct{ msg, want string }{
		{"cluster.secret: must be 32 bytes", "$CLUSTER_SECRET"},
		{"cluster.connection_manager.high_water (400): must be at least low_water (500)", "$CLUSTER_CONNECTION_MANAGER_LOW_WATER"},
		{"ipfs_connector: pin_timeout, unpin_timeout and ipfs_request_timeout must be positive durations", "$PINCLUSTER_IPFS_CONNECTOR_PIN_TIMEOUT"},
		{"ipfs_connector.unpin_timeout: must be positive", ""},
		{"cluster.secrets: no such key", ""},
		{"cluster.peername: must not be empty", ""},
		{"consensus.crdt.cluster_name: must not be empty", ""},
	} {
		if got := env.Named(errors.New(tc.msg)).String(); got != tc.want {
			t.Errorf("%q: named %q, want %q", tc.msg, got, tc.want)
		}
	}
}

// The variable recorded for a key is the one whose value stands: the last prefix applied.
func TestApplyEnvRecordsTheWinningVariable(t *testing.T) {
	t.Setenv("A_PEERNAME", "a")
	t.Setenv("B_PEERNAME", "b")
	t.Setenv("B_CONNECTION_MANAGER_LOW_WATER", "7")
	c := DefaultCluster()
	var env EnvOverrides
	if err := ApplyEnv(&env, "cluster", &c, "A_", "B_"); err != nil {
		t.Fatal(err)
	}
	want := EnvOverrides{{Key: "cluster.peername", Var: "B_PEERNAME"}, {Key: "cluster.connection_manager.low_water", Var: "B_CONNECTION_MANAGER_LOW_WATER"}}
	if c.Peername != "b" || len(env) != len(want) || env[0] != want[0] || env[1] != want[1] {
		t.Fatalf("peername %q, recorded %+v, want %+v", c.Peername, env, want)
	}
}
