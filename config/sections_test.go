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
