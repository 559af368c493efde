package config

import (
	"strings"
	"testing"
)

// TestClusterLeaveAndFollowerKeys: IPFS Cluster's leave_on_shutdown and follower_mode are
// implemented (peer/leave.go, the follower guards), so true is valid and read as set.
func TestClusterLeaveAndFollowerKeys(t *testing.T) {
	c := DefaultCluster()
	if c.LeaveOnShutdown || c.FollowerMode {
		t.Fatalf("both default to false, as in IPFS Cluster: %+v", c)
	}
	c.LeaveOnShutdown, c.FollowerMode = true, true
	if err := c.Validate(); err != nil {
		t.Fatalf("leave_on_shutdown and follower_mode set: %v", err)
	}
}

// TestClusterReplicationDefaults: the defaults follow the pins' rule (api.CheckReplication),
// except that 0 ("use the default") cannot be the default; errors name the key.
func TestClusterReplicationDefaults(t *testing.T) {
	for _, tc := range []struct {
		mn, mx int
		want   string // "" = valid
	}{
		{-1, -1, ""},
		{2, 3, ""},
		{3, 3, ""},
		{0, 3, "cluster.replication_factor_min (0) must be"},
		{3, 0, "cluster.replication_factor_max (0) must be"},
		{3, 2, "cluster.replication_factor_min (3) is greater than cluster.replication_factor_max (2)"},
		{-1, 2, "cluster.replication_factor_min and cluster.replication_factor_max must both be -1"},
		{-2, 2, "cluster.replication_factor_min (-2) must be"},
	} {
		c := DefaultCluster()
		c.ReplicationFactorMin, c.ReplicationFactorMax = tc.mn, tc.mx
		err := c.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("min=%d max=%d: got %v, want %q", tc.mn, tc.mx, err, tc.want)
		}
	}
}
