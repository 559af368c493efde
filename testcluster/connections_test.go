package testcluster

import (
	"context"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
)

// TestBoundedConnectionSet: with cluster.connection_manager.low_water 1 and high_water 4, 12
// peers choose about three links each (one at random, two ring neighbours) instead of the 11
// of a full mesh, both ends of every pair agree, and the cluster still works as one while the
// connection managers trim: every peer sees every other's ping (New waits for it), a pin taken
// by one peer is PINNED on every peer, a fresh global status reaches every peer (dialling
// those it is not linked to), and after a peer is killed the others see it gone and still
// spread pins among themselves.
//
// It does not count connections: at this size gossipsub's meshes (which the connection
// manager also spares, up to 12 peers per topic) cover nearly every pair, and the calls every
// member gets (tombstone collection) open the rest. The bound shows at scale (make
// bench-scale with PINCLUSTER_SCALE_LOW_WATER).
func TestBoundedConnectionSet(t *testing.T) {
	const n = 12
	c := New(t, n, WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Cluster.ConnectionManager = config.ConnMgr{LowWater: 1, HighWater: 4, GracePeriod: config.Duration(2 * time.Minute)}
	}))
	linked := func(i, j int) bool {
		return c.Probe(i).Host().ConnManager().IsProtected(c.ID(j), "pincluster-membership")
	}
	pairs := 0
	c.WaitFor(func() bool {
		pairs = 0
		for i := range n {
			for j := i + 1; j < n; j++ {
				if linked(i, j) != linked(j, i) {
					return false
				}
				if linked(i, j) {
					pairs++
				}
			}
		}
		return true
	}, 10*time.Second, "both ends of every pair agree on their link")
	t.Logf("%d links among %d peers (full mesh: %d)", pairs, n, n*(n-1)/2)
	if pairs < n || pairs > n*(n-1)/4 { // expected about 18: 12 ring pairs and 6 at random
		t.Fatalf("%d links among %d peers: want the ring and a few more, far from a full mesh", pairs, n)
	}

	ctx := context.Background()
	x := Cid("bounded-x")
	if _, err := c.Peer(0).Pin(ctx, x, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool {
		for i := range n {
			if c.LocalStatus(i, x) != api.TrackerStatusPinned {
				return false
			}
		}
		return true
	}, 20*time.Second, "the pin PINNED on every peer")
	st := statusMap(t, c.Peer(0), true, 0)
	if got := len(st[x.String()]); got != n {
		t.Fatalf("fresh global status answered for %d peers of %d: %v", got, n, st)
	}
	for id, s := range st[x.String()] {
		if s.Status != api.TrackerStatusPinned {
			t.Fatalf("fresh global status: %s on %s", s.Status, id)
		}
	}

	c.Kill(3)
	c.WaitFor(func() bool {
		for _, i := range c.Running() {
			if c.LiveIDs(i)[c.ID(3)] {
				return false
			}
		}
		return true
	}, 20*time.Second, "every peer sees the killed peer gone")
	y := Cid("bounded-y")
	if _, err := c.Peer(5).Pin(ctx, y, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool {
		for _, i := range c.Running() {
			if !c.HasPin(i, y) {
				return false
			}
		}
		return true
	}, 20*time.Second, "a pin taken after the kill reaches every running peer")
}
