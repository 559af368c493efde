package testcluster

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/telemetry"
)

// Version vector announcements travel end to end: every peer's status digest heartbeats carry
// its vector, the others' gossip readers hand it to their syncers, which keep it as a current
// copy, and tombstone collection runs on those copies: once the cluster is quiet, rounds
// (every 300 ms here) pull no member at all, where each used to pull every member whose copy
// was older than half its window (6 s here, with heartbeats every 500 ms) and the window
// watched is longer than that.
func TestCollectionRunsOnAnnouncedVersions(t *testing.T) {
	const n = 3
	c := New(t, n, WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Cluster.StateSyncInterval = config.Duration(300 * time.Millisecond)
		cfg.Consensus.CRDT.RebroadcastInterval = config.Duration(4 * time.Second)
	}))
	c.WaitConnected(10 * time.Second)
	ctx := context.Background()
	x := Cid("announced-x")
	if _, err := c.Peer(0).Pin(ctx, x, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.HasPin(1, x) && c.HasPin(2, x) }, 10*time.Second, "x everywhere")
	if _, err := c.Peer(1).Unpin(ctx, x); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool {
		for i := range n {
			if c.Probe(i).CollectedClock() == 0 {
				return false
			}
		}
		return c.Quiescent() && c.Converged()
	}, 20*time.Second, "every peer collects the unpin's tombstone, and the cluster is quiet")
	current := telemetry.Announcements.WithLabelValues("current")
	pulls, taken := testutil.ToFloat64(telemetry.CollectionPulls), testutil.ToFloat64(current)
	start := time.Now()
	c.WaitFor(func() bool {
		for i := range n {
			seen := c.Probe(i).VersionsSeen()
			for j := range n {
				if j != i && !seen[c.ID(j)].After(start) {
					return false
				}
			}
		}
		return true
	}, 10*time.Second, "every peer's copy of every other's vector brought current since")
	wait(7 * time.Second) // over 20 collection rounds per peer, and longer than 6 s
	if d := testutil.ToFloat64(telemetry.CollectionPulls) - pulls; d != 0 {
		t.Errorf("collection pulled %v times in a quiet cluster whose members announce their vectors", d)
	}
	if d := testutil.ToFloat64(current) - taken; d < n*(n-1) {
		t.Errorf("%v announcements taken as current copies, want at least %d", d, n*(n-1))
	}
}
