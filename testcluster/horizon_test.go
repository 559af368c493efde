package testcluster

import (
	"context"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
)

// TestPeerBeyondHorizonCannotResurrect: peer 2 is cut off longer than absent_peer_horizon, so
// peers 0 and 1 collect an unpin without it and record it as excluded at that watermark. Peer
// 2 had re-pinned that CID meanwhile (an older clock than the unpin). When it returns, its
// racing pin lands on peers without a record of the CID and is superseded by an unpin,
// whichever side pulls first, and every peer ends without the CID.
func TestPeerBeyondHorizonCannotResurrect(t *testing.T) {
	c := New(t, 3, WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Cluster.StateSyncInterval = config.Duration(200 * time.Millisecond)
		cfg.Consensus.CRDT.RebroadcastInterval = config.Duration(200 * time.Millisecond)
		cfg.Consensus.CRDT.AbsentPeerHorizon = config.Duration(time.Second)
	}))
	c.WaitConnected(10 * time.Second)
	ctx := context.Background()
	x, y := Cid("horizon-x"), Cid("horizon-y")
	if _, err := c.Peer(0).Pin(ctx, x, api.PinOptions{Name: "first"}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.HasPin(2, x) }, 10*time.Second, "x everywhere")
	c.Partition(2)
	c.WaitFor(func() bool { return len(c.Probe(2).Host().Network().Peers()) == 0 }, 5*time.Second, "peer 2 isolated")
	if _, err := c.Peer(2).Pin(ctx, x, api.PinOptions{Name: "cut-off"}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	c.WaitFor(func() bool { return time.Since(t0) > 5*time.Millisecond }, time.Second, "the clock moves on")
	if _, err := c.Peer(0).Unpin(ctx, x); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Peer(1).Pin(ctx, y, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool {
		return c.Probe(0).CollectedClock() > 0 && c.Probe(1).CollectedClock() > 0
	}, 15*time.Second,
		"peers 0 and 1 collect the unpin once peer 2 is past the horizon")
	c.Heal()
	// A raced pin is applied, then superseded by an unpin (the store hook sends it to the
	// collector), so the peers may agree for a moment on a pinset that still holds x, or, before
	// a late raced pin lands, on one without it: wait until every op reached every peer, with
	// the end state, then check it holds.
	c.WaitFor(func() bool {
		return c.Quiescent() && c.Converged() && c.HasPin(2, y) && !c.HasPin(0, x) && !c.HasPin(1, x) && !c.HasPin(2, x)
	}, 20*time.Second, "pinsets converge after heal, without x, every op everywhere")
	c.Consistently(func() bool { return c.Converged() }, time.Second, "and stay converged")
	for i := range 3 {
		if c.HasPin(i, x) {
			t.Errorf("peer %d: the acknowledged unpin of x was undone", i)
		}
	}
}
