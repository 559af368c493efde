package testcluster

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/telemetry"
)

// Version vector announcements travel end to end: every peer's announcer publishes on the
// versions topic, the others' gossip readers hand them to their syncers, which take them as
// current copies (the counter moves by at least one per ordered pair of peers), and tombstone
// collection goes on with them on every peer.
func TestVersionAnnouncementsReachEveryPeer(t *testing.T) {
	const n = 3
	c := New(t, n)
	c.WaitConnected(10 * time.Second)
	current := telemetry.Announcements.WithLabelValues("current")
	before := testutil.ToFloat64(current)
	c.WaitFor(func() bool { return testutil.ToFloat64(current)-before >= n*(n-1) }, 10*time.Second,
		"announcements taken as current copies")
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
		return true
	}, 20*time.Second, "every peer collects the unpin's tombstone")
}
