package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
)

// TestFollowerLeaves: a follower, which the trusted peers do not trust, may still take itself
// out (leave_on_shutdown's LeaveCluster): they accept its own removal, stop listing it and do
// not bring it back; a peer alone cannot leave and stays as it was.
func TestFollowerLeaves(t *testing.T) {
	ids := newIdentities(t, 3)
	c := New(t, 3, WithIdentities(ids...), WithConfig(func(i int, cfg *servicejson.Config) {
		cfg.Consensus.CRDT.TrustedPeers = []string{ids[0].ID.String(), ids[1].ID.String()}
		cfg.Cluster.FollowerMode = i == 2
	}))
	c.WaitConnected(10 * time.Second)
	c.WaitFor(func() bool { return c.peerIDs(t, 0)[c.ID(2)] && c.peerIDs(t, 1)[c.ID(2)] }, 20*time.Second, "the trusted peers list the follower")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Peer(2).LeaveCluster(ctx); err != nil {
		t.Fatal(err)
	}
	if !c.Peer(2).Left() {
		t.Fatal("the follower that left is not marked as left")
	}
	for _, i := range []int{0, 1} {
		if c.peerIDs(t, i)[c.ID(2)] {
			t.Fatalf("peer %d still lists the follower that left", i)
		}
	}
	c.Consistently(func() bool { return !c.peerIDs(t, 0)[c.ID(2)] && !c.peerIDs(t, 1)[c.ID(2)] }, 3*time.Second,
		"the follower that left stays out (no redial, no metric brings it back)")
}

// TestAlonePeerCannotLeave: LeaveCluster on a single-peer cluster is refused (as peers rm of
// the only peer) and the peer is not marked as left.
func TestAlonePeerCannotLeave(t *testing.T) {
	c := New(t, 1)
	err := c.Peer(0).LeaveCluster(context.Background())
	if !errors.Is(err, api.ErrInvalid) || c.Peer(0).Left() {
		t.Fatalf("leave alone: err = %v, left = %v", err, c.Peer(0).Left())
	}
}

// TestCutOffPeerDoesNotLeave: a peer that no other member answers does not announce its
// removal (it would reach nobody, and the identity would be given up all the same): it stays
// a member, on its side and on the others'.
func TestCutOffPeerDoesNotLeave(t *testing.T) {
	c := New(t, 3)
	c.WaitConnected(10 * time.Second)
	c.Partition(2)
	c.WaitFor(func() bool { return len(c.Probe(2).Host().Network().Peers()) == 0 }, 5*time.Second, "peer 2 isolated")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.Peer(2).LeaveCluster(ctx)
	if !errors.Is(err, api.ErrUnavailable) || c.Peer(2).Left() {
		t.Fatalf("leave while cut off: err = %v, left = %v; want ErrUnavailable and still a member", err, c.Peer(2).Left())
	}
	c.Heal()
	c.WaitFor(func() bool { return c.peerIDs(t, 0)[c.ID(2)] && c.peerIDs(t, 1)[c.ID(2)] }, 20*time.Second, "the others list peer 2 again")
}
