package testcluster

import (
	"context"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// TestHarness checks the harness itself: peers connect, a pin spreads, a partition stops it,
// Heal repairs it, Kill and Restart keep identity and port.
func TestHarness(t *testing.T) {
	c := New(t, 3)
	ctx := context.Background()
	a := Cid("harness-a")
	if _, err := c.Peer(0).Pin(ctx, a, api.PinOptions{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.HasPin(1, a) && c.HasPin(2, a) }, 10*time.Second, "pin a on every peer")
	c.WaitFor(func() bool { return c.Fake(2).Pinned(a) }, 10*time.Second, "a pinned on peer 2's IPFS")

	c.Partition(2)
	c.WaitFor(func() bool { return len(c.Probe(2).Host().Network().Peers()) == 0 }, 5*time.Second, "peer 2 isolated")
	b := Cid("harness-b")
	if _, err := c.Peer(0).Pin(ctx, b, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.HasPin(1, b) }, 10*time.Second, "b reaches peer 1")
	c.Consistently(func() bool { return !c.HasPin(2, b) }, time.Second, "b must not cross the partition")
	c.Heal()
	c.WaitFor(func() bool { return c.HasPin(2, b) }, 10*time.Second, "b reaches peer 2 after Heal")

	id, addr := c.ID(1), c.Addr(1)
	c.Kill(1)
	if c.Peer(1) != nil || len(c.Peers()) != 2 {
		t.Fatal("killed peer still listed")
	}
	p := c.Restart(1)
	if p.PeerID() != id || c.Addr(1) != addr {
		t.Fatalf("restart changed identity or address: %s %s -> %s %s", id, addr, p.PeerID(), c.Addr(1))
	}
	c.WaitConnected(15 * time.Second)
	if !c.HasPin(1, a) || !c.HasPin(1, b) {
		t.Fatal("restarted peer lost its pinset")
	}
	c.WaitFor(c.Converged, 10*time.Second, "pinsets converge")
}
