package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// statusList is peer i's status listing (local or global) filtered by filter, by CID.
func (c *Cluster) statusList(t *testing.T, i int, filter api.TrackerStatus, local bool) map[string]api.GlobalPinInfo {
	t.Helper()
	out := map[string]api.GlobalPinInfo{}
	err := c.Peer(i).StatusAll(context.Background(), filter, local, nil, func(g api.GlobalPinInfo) error {
		out[g.Cid.String()] = g
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A CID unpinned from the pinset whose unpin fails on a peer is listed by that peer's status,
// local and global, with unpin_error (filter unpin_error and error too), as IPFS Cluster
// lists the operations its tracker holds; once the unpin succeeds it is no longer listed.
func TestStatusListsUnpinErrorsOfCIDsNoLongerPinned(t *testing.T) {
	c := New(t, 3)
	c.WaitConnected(10 * time.Second)
	ctx := context.Background()
	x, kept := Cid("unpin-error-x"), Cid("unpin-error-kept")
	for _, y := range []api.Cid{x, kept} {
		if _, err := c.Peer(0).Pin(ctx, y, api.PinOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitFor(func() bool { return c.Fake(1).Pinned(x) && c.Fake(1).Pinned(kept) }, 10*time.Second, "pinned on peer 1")
	c.Fake(1).FailUnpin(x, errors.New("ipfs is down"))
	if _, err := c.Peer(0).Unpin(ctx, x); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.LocalStatus(1, x) == api.TrackerStatusUnpinError }, 10*time.Second, "peer 1 fails to unpin x")
	// Global status reads the other members' parts from their digests (the replica pass)
	// once it holds every member's; the pages that ask members are another path.
	c.WaitFor(func() bool { return c.Probe(1).HasDigestOf(c.ID(0)) && c.Probe(1).HasDigestOf(c.ID(2)) }, 30*time.Second,
		"peer 1 holds the others' digests")
	for _, local := range []bool{true, false} {
		for _, filter := range []api.TrackerStatus{0, api.TrackerStatusUnpinError, api.TrackerStatusError} {
			got := c.statusList(t, 1, filter, local)
			g, ok := got[x.String()]
			if !ok || g.PeerMap[c.ID(1).String()].Status != api.TrackerStatusUnpinError {
				t.Fatalf("local %v, filter %v: x listed %v as %+v, want peer 1's unpin_error", local, filter, ok, g.PeerMap)
			}
			if _, ok := got[kept.String()]; ok != (filter == 0) {
				t.Fatalf("local %v, filter %v: the pinned CID listed %v", local, filter, ok)
			}
			if !local && g.PeerMap[c.ID(0).String()].Status != api.TrackerStatusUnpinned {
				t.Fatalf("global: peer 0's part of x %+v, want unpinned", g.PeerMap[c.ID(0).String()])
			}
		}
	}
	if got := c.statusList(t, 1, api.TrackerStatusPinned, true); len(got) != 1 {
		t.Fatalf("filter pinned lists %d CIDs, want the pinned one only", len(got))
	}
	// Peer 0, done with x, lists it globally from its replica of peer 1's digest.
	c.WaitFor(func() bool {
		g, ok := c.statusList(t, 0, api.TrackerStatusUnpinError, false)[x.String()]
		return ok && g.PeerMap[c.ID(1).String()].Status == api.TrackerStatusUnpinError &&
			g.PeerMap[c.ID(0).String()].Status == api.TrackerStatusUnpinned
	}, 30*time.Second, "peer 0's global listing shows peer 1's failed unpin of x")
	if _, ok := c.statusList(t, 0, api.TrackerStatusUnpinError, true)[x.String()]; ok {
		t.Fatal("peer 0's local listing lists x, which it has unpinned")
	}
	c.Fake(1).Heal(x)
	if g, err := c.Peer(1).Recover(ctx, x, true); err != nil || g.PeerMap[c.ID(1).String()].Status != api.TrackerStatusUnpinned {
		t.Fatalf("recover --local on peer 1: %+v, %v; want unpinned", g.PeerMap, err)
	}
	c.WaitFor(func() bool { _, ok := c.statusList(t, 1, 0, true)[x.String()]; return !ok }, 10*time.Second, "x no longer listed once unpinned")
	c.WaitFor(func() bool { _, ok := c.statusList(t, 0, 0, false)[x.String()]; return !ok }, 30*time.Second,
		"x no longer listed by peer 0 once peer 1 unpinned it")
}

// recover of a CID whose unpin failed on one peer retries it there now, waits for the attempt,
// and shows the other peers as they are (unpinned), not as errors; a CID unpinned everywhere
// has nothing to retry, and every peer answers unpinned.
func TestRecoverOfAFailedUnpin(t *testing.T) {
	c := New(t, 3)
	c.WaitConnected(10 * time.Second)
	ctx := context.Background()
	x := Cid("recover-unpin-x")
	if _, err := c.Peer(0).Pin(ctx, x, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.Fake(1).Pinned(x) && c.Fake(2).Pinned(x) }, 10*time.Second, "x pinned")
	c.Fake(2).FailUnpin(x, errors.New("ipfs is down"))
	if _, err := c.Peer(0).Unpin(ctx, x); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool {
		return c.LocalStatus(2, x) == api.TrackerStatusUnpinError && !c.Fake(0).Pinned(x) && !c.Fake(1).Pinned(x)
	},
		10*time.Second, "x unpinned on peers 0 and 1, unpin_error on peer 2")
	c.Fake(2).Heal(x)
	// The recover retries the unpin on peer 2 now and waits for that attempt, as it does for a
	// pin: every peer is unpinned in its answer.
	g, err := c.Peer(0).Recover(ctx, x, false)
	if err != nil {
		t.Fatalf("recover from peer 0: %v", err)
	}
	if len(g.PeerMap) != 3 {
		t.Fatalf("recover: %d parts, want 3", len(g.PeerMap))
	}
	for id, st := range g.PeerMap {
		if st.Status != api.TrackerStatusUnpinned {
			t.Fatalf("recover: %s is %s (%s), want unpinned", id, st.Status, st.Error)
		}
	}
	if c.Fake(2).Pinned(x) {
		t.Fatal("peer 2 still pins x after the recover answered")
	}
	// Unpinned everywhere: nothing to retry; every peer answers unpinned.
	for _, from := range []int{0, 2} {
		for _, local := range []bool{false, true} {
			g, err := c.Peer(from).Recover(ctx, x, local)
			if err != nil {
				t.Fatalf("recover (local %v) of x unpinned everywhere, from peer %d: %v", local, from, err)
			}
			for id, st := range g.PeerMap {
				if st.Status != api.TrackerStatusUnpinned {
					t.Fatalf("recover (local %v) from peer %d: %s is %s, want unpinned", local, from, id, st.Status)
				}
			}
		}
	}
}
