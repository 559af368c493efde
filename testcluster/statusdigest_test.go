package testcluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/peer"
)

// statusMap is every pin's status per peer as one peer answers a global status.
func statusMap(t *testing.T, p *peer.Peer, fresh bool, filter api.TrackerStatus) map[string]map[string]api.PinInfoShort {
	t.Helper()
	out := map[string]map[string]api.PinInfoShort{}
	each := func(g api.GlobalPinInfo) error {
		out[g.Cid.String()] = g.PeerMap
		return nil
	}
	var err error
	if fresh {
		err = p.StatusAllFresh(context.Background(), filter, nil, each)
	} else {
		err = p.StatusAll(context.Background(), filter, false, nil, each)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameStatuses reports whether two global statuses tell the same status per pin and peer.
func sameStatuses(a, b map[string]map[string]api.PinInfoShort) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d pins vs %d", len(a), len(b))
	}
	for c, pa := range a {
		pb := b[c]
		if len(pa) != len(pb) {
			return fmt.Sprintf("%s: %d peers vs %d", c, len(pa), len(pb))
		}
		for id, s := range pa {
			if pb[id].Status != s.Status {
				return fmt.Sprintf("%s on %s: %s vs %s", c, id, s.Status, pb[id].Status)
			}
		}
	}
	return ""
}

// TestGlobalStatusFromDigests: global status answered from the replicas of the status
// digests tells what asking every peer tells (pinned, pin_error with its error, remote), with
// each other peer's `updated`; a filtered status (error) is answered from the replicas too.
func TestGlobalStatusFromDigests(t *testing.T) {
	c := New(t, 3, WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Tracker.PriorityPinMaxRetries = 0 // the failing pin stays in error
	}))
	c.WaitConnected(20 * time.Second)
	bad := Cid("digest-bad")
	c.Fake(2).FailPin(bad, errors.New("no providers"))
	ctx := context.Background()
	for i := range 20 {
		if _, err := c.Peer(0).Pin(ctx, Cid(fmt.Sprint("digest-", i)), api.PinOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// One pin on two peers only: the third shows it remote.
	two := Cid("digest-two")
	if _, err := c.Peer(0).Pin(ctx, two, api.PinOptions{ReplicationFactorMin: 2, ReplicationFactorMax: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Peer(0).Pin(ctx, bad, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.LocalStatus(2, bad) == api.TrackerStatusPinError }, 20*time.Second, "pin_error on peer 2")
	// Until every member's first digest reaches peer 0, its status asks every member instead
	// (parts without Updated): wait for the replica's answer before comparing.
	fromReplicas := func() bool {
		g, err := c.Peer(0).Status(ctx, bad, false)
		if err != nil {
			t.Fatal(err)
		}
		return !g.PeerMap[c.ID(1).String()].Updated.IsZero() && !g.PeerMap[c.ID(2).String()].Updated.IsZero()
	}
	var diff string
	ok := Eventually(func() bool {
		if !fromReplicas() {
			diff = "peer 0 still asks every member (a digest has not arrived)"
			return false
		}
		fresh := statusMap(t, c.Peer(0), true, 0)
		diff = sameStatuses(statusMap(t, c.Peer(0), false, 0), fresh)
		return diff == "" && len(fresh) == 22
	}, 30*time.Second)
	if !ok {
		t.Fatalf("global status from the digests differs from asking every peer: %s", diff)
	}
	g, err := c.Peer(0).Status(ctx, bad, false)
	if err != nil {
		t.Fatal(err)
	}
	p2 := g.PeerMap[c.ID(2).String()]
	if p2.Status != api.TrackerStatusPinError || p2.Error == "" || p2.Updated.IsZero() {
		t.Fatalf("peer 2's part of the failing pin from the replica: %+v", p2)
	}
	if self := g.PeerMap[c.ID(0).String()]; !self.Updated.IsZero() {
		t.Fatalf("this peer's own part carries updated: %+v", self)
	}
	errs := statusMap(t, c.Peer(1), false, api.TrackerStatusError)
	if len(errs) != 1 || errs[bad.String()] == nil {
		t.Fatalf("status --filter error from the replicas on peer 1: %v", errs)
	}
}

// TestStaleDigestIsClusterError: a peer that stops publishing its digest shows as
// cluster_error once its replica is older than the ping TTL, with how old in `updated`; it
// is never shown as current.
func TestStaleDigestIsClusterError(t *testing.T) {
	c := New(t, 3, WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Cluster.DisableRepinning = true // peer 2 keeps its allocation once down
	}))
	c.WaitConnected(20 * time.Second)
	c.WaitFor(func() bool { return c.SeesAlive(0, 1, 2) }, 20*time.Second, "peer 0 sees peers 1 and 2 alive")
	cid := Cid("digest-stale")
	opts := api.PinOptions{ReplicationFactorMin: 2, ReplicationFactorMax: 2, UserAllocations: []libp2ppeer.ID{c.ID(0), c.ID(2)}}
	if _, err := c.Peer(0).Pin(context.Background(), cid, opts); err != nil {
		t.Fatal(err)
	}
	id2 := c.ID(2).String()
	part := func() api.PinInfoShort {
		g, err := c.Peer(0).Status(context.Background(), cid, false)
		if err != nil {
			t.Fatal(err)
		}
		return g.PeerMap[id2]
	}
	// Updated is set only on a part read from the replica: until peer 2's first digest reaches
	// peer 0, the status asks every member instead (and would then see peer 2 unreachable).
	c.WaitFor(func() bool { p := part(); return p.Status == api.TrackerStatusPinned && !p.Updated.IsZero() }, 20*time.Second, "peer 2 pinned in peer 0's replica")
	c.Stop(2)
	stopped := time.Now()
	var last api.PinInfoShort
	if !Eventually(func() bool { last = part(); return last.Status == api.TrackerStatusClusterError }, 20*time.Second) {
		g, _ := c.Peer(0).Status(context.Background(), cid, false)
		t.Fatalf("peer 2 is not cluster_error once stopped: %+v (whole status %+v)", last, g)
	}
	t.Logf("peer 2 turned cluster_error %s after it stopped", time.Since(stopped).Round(time.Millisecond))
	if p := part(); p.Updated.IsZero() || p.Error == "" {
		t.Fatalf("a stale part says neither how old nor why: %+v", p)
	}
}

// TestDigestCatchUpAfterRestart: a peer that was down while the others' statuses changed
// pulls their digests when it hears they are ahead of its replicas, and its global status
// from the replicas tells what asking every peer tells.
func TestDigestCatchUpAfterRestart(t *testing.T) {
	c := New(t, 3)
	c.WaitConnected(20 * time.Second)
	ctx := context.Background()
	c.Stop(1)
	for i := range 30 {
		if _, err := c.Peer(0).Pin(ctx, Cid(fmt.Sprint("catchup-", i)), api.PinOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitFor(func() bool { return c.LocalStatus(2, Cid("catchup-29")) == api.TrackerStatusPinned }, 20*time.Second, "peer 2 pinned the pins")
	c.Start(1)
	var diff string
	if !Eventually(func() bool {
		got := statusMap(t, c.Peer(1), false, 0)
		diff = sameStatuses(got, statusMap(t, c.Peer(1), true, 0))
		if diff != "" || len(got) != 30 {
			return false
		}
		for _, pm := range got {
			for id, p := range pm {
				// Another peer's part without Updated came from asking it, not from the replica.
				if p.Status != api.TrackerStatusPinned || (id != c.ID(1).String() && p.Updated.IsZero()) {
					diff = "not every part from the replicas yet"
					return false
				}
			}
		}
		return true
	}, 30*time.Second) {
		t.Fatalf("the restarted peer's global status from its replicas: %s", diff)
	}
}

// TestRemovedPeerDigestDropped: peers rm deletes the removed peer's status digest replica on
// the peers that learn of the removal, and digests it still sends are not stored.
func TestRemovedPeerDigestDropped(t *testing.T) {
	c := New(t, 3)
	c.WaitConnected(20 * time.Second)
	ctx := context.Background()
	if _, err := c.Peer(0).Pin(ctx, Cid("digest-of-removed"), api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.Probe(0).HasDigestOf(c.ID(2)) && c.Probe(1).HasDigestOf(c.ID(2)) }, 30*time.Second,
		"peers 0 and 1 hold peer 2's status digest")
	if err := c.Peer(0).PeerRemove(ctx, c.ID(2)); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return !c.Probe(0).HasDigestOf(c.ID(2)) && !c.Probe(1).HasDigestOf(c.ID(2)) }, 30*time.Second,
		"peers 0 and 1 deleted the removed peer's digest replica")
	c.Consistently(func() bool { return !c.Probe(0).HasDigestOf(c.ID(2)) && !c.Probe(1).HasDigestOf(c.ID(2)) }, 2*time.Second,
		"the removed peer's digest stays deleted")
}
