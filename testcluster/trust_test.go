package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
)

// TestUntrustedPeerChangesNothing: peers 0 and 1 trust only each other. Peer 2 holds the
// secret, so it connects and may read, but every call that would change peer 0 (peers rm,
// recover, IPFS GC) is refused by peer 0's RPC policy, and peer 0 keeps running.
func TestUntrustedPeerChangesNothing(t *testing.T) {
	ids := newIdentities(t, 3)
	c := New(t, 3, WithIdentities(ids...), WithConfig(func(i int, cfg *servicejson.Config) {
		if i < 2 {
			cfg.Consensus.CRDT.TrustedPeers = []string{ids[0].ID.String(), ids[1].ID.String()}
		}
	}))
	c.WaitConnected(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	x := Cid("trust-x")
	if _, err := c.Peer(0).Pin(ctx, x, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.HasPin(2, x) }, 10*time.Second, "peer 2 reads the pinset")

	// Reads are allowed: the untrusted peer lists peer 0 with its ID.
	c.WaitFor(func() bool { return c.peerIDs(t, 2)[c.ID(0)] }, 10*time.Second, "peer 2 lists peer 0")
	st, err := c.Peer(2).Status(ctx, x, false)
	if err != nil {
		t.Fatal(err)
	}
	if pi, ok := st.PeerMap[c.ID(0).String()]; !ok || pi.Status == api.TrackerStatusClusterError {
		t.Fatalf("peer 0's status as seen by peer 2 = %+v, want an answer", st.PeerMap[c.ID(0).String()])
	}

	// Writes are refused.
	err = c.Peer(2).PeerRemove(ctx, c.ID(0))
	if !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("untrusted peers rm: err = %v, want forbidden", err)
	}
	// ipfs gc and recover reach no other member: refused by every one, they answer 403.
	gc, err := c.Peer(2).IPFSGC(ctx, false)
	if !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("untrusted ipfs gc: err = %v, want forbidden", err)
	}
	if g := gc.PeerMap[c.ID(0).String()]; g.Error == "" {
		t.Fatalf("untrusted ipfs gc reached peer 0: %+v", g)
	}
	if _, err := c.Peer(2).Recover(ctx, x, false); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("untrusted recover: err = %v, want forbidden", err)
	}
	if err := c.Peer(2).RecoverAll(ctx, false, func(api.GlobalPinInfo) error { return nil }); err != nil {
		t.Logf("recover all from the untrusted peer: %v", err)
	}
	c.Consistently(func() bool { return !c.Peer(0).Left() && c.peerIDs(t, 1)[c.ID(0)] }, time.Second, "peer 0 stays a member")

	// A trusted peer may remove the untrusted one.
	if err := c.Peer(0).PeerRemove(ctx, c.ID(2)); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.Peer(2).Left() }, 10*time.Second, "peer 2 leaves when a trusted peer removes it")
}

// newIdentities makes n peer identities, so that a test's configs can name peers before they
// start (WithIdentities).
func newIdentities(t *testing.T, n int) []identity.Identity {
	t.Helper()
	ids := make([]identity.Identity, n)
	for i := range ids {
		id, err := identity.New()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// TestRemovedPeersOpsUpToTheRemovalStay: after peers rm, the removed peer's earlier pins stay
// valid everywhere (a peer that joins later loads them too), and its later ops are refused. The
// removed peer is cut off when it is removed: one that hears of it refuses writes (seal.go), so
// only a peer that did not hear makes later ops.
func TestRemovedPeersOpsUpToTheRemovalStay(t *testing.T) {
	c := New(t, 4, WithStarted(3))
	c.WaitConnected(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	before, after := Cid("removed-before"), Cid("removed-after")
	if _, err := c.Peer(2).Pin(ctx, before, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.HasPin(0, before) && c.HasPin(1, before) }, 10*time.Second, "peer 2's pin everywhere")
	c.Partition(2)
	c.WaitFor(func() bool { return len(c.Probe(2).Host().Network().Peers()) == 0 }, 5*time.Second, "peer 2 isolated")
	if err := c.Peer(0).PeerRemove(ctx, c.ID(2)); err != nil {
		t.Fatal(err)
	}
	// Not told of its removal, peer 2 pins again.
	if _, err := c.Peer(2).Pin(ctx, after, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.Heal()
	c.WaitFor(func() bool { return c.Peer(2).Left() }, 20*time.Second, "peer 2 learns of its removal")
	c.Start(3)
	c.WaitFor(func() bool { return c.HasPin(3, before) }, 20*time.Second, "a peer joining after the removal loads the removed peer's earlier pin")
	for _, i := range []int{0, 1, 3} {
		c.Consistently(func() bool { return !c.HasPin(i, after) }, time.Second, "peer", i, "refuses the removed peer's later pin")
	}
}
