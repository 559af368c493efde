package config

import (
	"strings"
	"testing"
)

// TestClusterRejectsKeysItWouldIgnore: IPFS Cluster's keys that pincluster does not implement
// may only say what pincluster does (false); anything else is an error naming the key.
func TestClusterRejectsKeysItWouldIgnore(t *testing.T) {
	for _, tc := range []struct {
		set  func(*Cluster)
		want string
	}{
		{func(c *Cluster) { c.LeaveOnShutdown = true }, "cluster.leave_on_shutdown"},
		{func(c *Cluster) { c.FollowerMode = true }, "cluster.follower_mode"},
	} {
		c := DefaultCluster()
		if err := c.Validate(); err != nil {
			t.Fatalf("default: %v", err)
		}
		tc.set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %s", err, tc.want)
		}
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
