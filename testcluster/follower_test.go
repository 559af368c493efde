package testcluster

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
)

// TestFollowerAndUntrustedWriter: peers 0 and 1 are the trusted peers (every peer's
// trusted_peers names them); peer 2 is a follower and peer 3 an untrusted peer that is not a
// follower, so it accepts its own pins. The trust rules refuse peer 3's ops everywhere else
// (the follower's would be refused the same way, were it to make any); the follower refuses
// its own writes, receives the pinset, pins everywhere-pins and what it is explicitly
// allocated, is never picked by a ranked allocation, and refuses IPFS GC from a trusted peer.
func TestFollowerAndUntrustedWriter(t *testing.T) {
	ids := newIdentities(t, 4)
	c := New(t, 4, WithIdentities(ids...), WithConfig(func(i int, cfg *servicejson.Config) {
		cfg.Consensus.CRDT.TrustedPeers = []string{ids[0].ID.String(), ids[1].ID.String()}
		cfg.Cluster.FollowerMode = i == 2
	}))
	c.WaitConnected(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// An untrusted writer's pin stays its own.
	x := Cid("untrusted-write")
	if _, err := c.Peer(3).Pin(ctx, x, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.Consistently(func() bool { return !c.HasPin(0, x) && !c.HasPin(1, x) && !c.HasPin(2, x) }, 2*time.Second,
		"the trusted peers and the follower refuse an untrusted peer's pin")

	// The follower refuses its own writes, and nothing changes.
	y := Cid("follower-write")
	if _, err := c.Peer(2).Pin(ctx, y, api.PinOptions{}); !errors.Is(err, api.ErrForbidden) || !strings.Contains(err.Error(), "this peer is a follower") {
		t.Fatalf("pin on the follower: err = %v, want forbidden (follower)", err)
	}

	// Everywhere-pins reach the follower, which pins them.
	e := Cid("everywhere")
	if _, err := c.Peer(0).Pin(ctx, e, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.LocalStatus(2, e) == api.TrackerStatusPinned }, 30*time.Second, "the follower pins the everywhere-pin")
	if _, err := c.Peer(2).Unpin(ctx, e); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("unpin on the follower: err = %v, want forbidden", err)
	}
	c.Consistently(func() bool { return c.HasPin(0, e) && c.HasPin(2, e) && !c.HasPin(0, y) }, time.Second, "the refused writes changed nothing")

	// Ranked allocations skip the follower; an explicit one reaches it.
	c.WaitFor(func() bool {
		ms, err := c.Peer(0).Metrics(ctx, "follower")
		return err == nil && slices.ContainsFunc(ms, func(m api.Metric) bool { return m.Peer == c.ID(2) })
	}, 20*time.Second, "peer 0 knows the follower's follower metric")
	for _, name := range []string{"r1", "r2", "r3", "r4"} {
		p, err := c.Peer(0).Pin(ctx, Cid(name), api.PinOptions{ReplicationFactorMin: 3, ReplicationFactorMax: 3})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(p.Allocations, c.ID(2)) {
			t.Fatalf("a ranked allocation picked the follower: %v", p.Allocations)
		}
	}
	u := Cid("explicit")
	p, err := c.Peer(0).Pin(ctx, u, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1, UserAllocations: ids2peers(c, 2)})
	if err != nil || !slices.Equal(p.Allocations, ids2peers(c, 2)) {
		t.Fatalf("explicit allocation to the follower: %v, %v", p.Allocations, err)
	}
	c.WaitFor(func() bool { return c.LocalStatus(2, u) == api.TrackerStatusPinned }, 30*time.Second, "the follower pins its explicit allocation")

	// A trusted peer's IPFS GC does not run on the follower.
	gc, err := c.Peer(0).IPFSGC(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if g := gc.PeerMap[c.ID(2).String()]; !strings.Contains(g.Error, "follower") {
		t.Fatalf("ipfs gc on the follower from a trusted peer: %+v, want refused", g)
	}
}

// ids2peers are the IDs of peers is.
func ids2peers(c *Cluster, is ...int) []libp2ppeer.ID {
	out := make([]libp2ppeer.ID, len(is))
	for k, i := range is {
		out[k] = c.ID(i)
	}
	return out
}

// TestRepinWithAFollowerOfLowestID: the follower has the lowest peer ID of the cluster, which
// would make it the peer that repins, but it never does (its commits would be refused): the
// trusted peers choose among themselves, and a dead trusted peer's pins still move.
func TestRepinWithAFollowerOfLowestID(t *testing.T) {
	ids := newIdentities(t, 4)
	slices.SortFunc(ids, func(a, b identity.Identity) int { return strings.Compare(string(b.ID), string(a.ID)) })
	// ids[3] now has the lowest ID: it is the follower.
	c := New(t, 4, WithIdentities(ids...), withReplication2(true), WithConfig(func(i int, cfg *servicejson.Config) {
		cfg.Consensus.CRDT.TrustedPeers = []string{ids[0].ID.String(), ids[1].ID.String(), ids[2].ID.String()}
		cfg.Cluster.FollowerMode = i == 3
	}))
	c.WaitFor(func() bool {
		ms, err := c.Peer(0).Metrics(context.Background(), "follower")
		return err == nil && len(ms) == 1
	}, 20*time.Second, "peer 0 knows the follower")
	cids := testCids("follower-repin", 10)
	c.pinAll(t, 0, cids, api.PinOptions{})
	victim := c.victimOf(t, cids[0])
	moved := c.allocatedTo(0, victim, cids)
	c.Kill(victim)
	for _, x := range moved {
		c.WaitFor(func() bool { return c.pinnedOnAllocations(x, victim) }, 20*time.Second,
			"%s reallocated away from the dead peer %d although the follower has the lowest ID", x, victim)
	}
	for _, x := range cids {
		if pin, _ := c.GetPin(0, x); slices.Contains(pin.Allocations, c.ID(3)) {
			t.Errorf("%s was reallocated to the follower: %v", x, pin.Allocations)
		}
	}
}
