package testcluster

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
)

// withReplication2 sets replication 2 on every peer and repinning on or off.
func withReplication2(repin bool) Option {
	return WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Cluster.ReplicationFactorMin = 2
		cfg.Cluster.ReplicationFactorMax = 2
		cfg.Cluster.DisableRepinning = !repin
	})
}

// pinAll pins cids on peer i with the cluster's default replication and waits until every one
// is pinned on each of its allocations.
func (c *Cluster) pinAll(t *testing.T, i int, cids []api.Cid, opts api.PinOptions) {
	t.Helper()
	for _, x := range cids {
		if _, err := c.Peer(i).Pin(context.Background(), x, opts); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range cids {
		c.WaitFor(func() bool { return c.pinnedOnAllocations(x, -1) }, 15*time.Second, "%s pinned on its allocations", x)
	}
}

// pinnedOnAllocations reports whether x's allocations (as every running peer sees them) leave
// out the peer at index without (-1: none) and x is pinned on each allocated peer.
func (c *Cluster) pinnedOnAllocations(x api.Cid, without int) bool {
	var allocs []libp2ppeer.ID
	for k, i := range c.Running() {
		pin, ok := c.GetPin(i, x)
		if !ok || (k > 0 && !slices.Equal(pin.Allocations, allocs)) {
			return false
		}
		allocs = pin.Allocations
	}
	if len(allocs) == 0 {
		return false
	}
	for _, a := range allocs {
		j := c.Index(a)
		if j < 0 || j == without || c.Peer(j) == nil || !c.Fake(j).Pinned(x) || c.LocalStatus(j, x) != api.TrackerStatusPinned {
			return false
		}
	}
	return true
}

// victimOf picks a peer other than 0 among x's allocations on peer 0.
func (c *Cluster) victimOf(t *testing.T, x api.Cid) int {
	t.Helper()
	pin, _ := c.GetPin(0, x)
	for _, a := range pin.Allocations {
		if j := c.Index(a); j > 0 {
			return j
		}
	}
	t.Fatalf("%s is allocated only to peer 0: %v", x, pin.Allocations)
	return -1
}

// allocatedTo lists the cids whose allocations on peer i include peer j.
func (c *Cluster) allocatedTo(i, j int, cids []api.Cid) []api.Cid {
	var out []api.Cid
	for _, x := range cids {
		if pin, ok := c.GetPin(i, x); ok && slices.Contains(pin.Allocations, c.ID(j)) {
			out = append(out, x)
		}
	}
	return out
}

// TestRepinKilledPeer: the pins of a killed peer are reallocated once its ping expires and
// become pinned elsewhere; when the peer comes back it unpins what moved away.
func TestRepinKilledPeer(t *testing.T) {
	c := New(t, 4, withReplication2(true))
	cids := testCids("repin", 20)
	c.pinAll(t, 0, cids, api.PinOptions{})
	victim := c.victimOf(t, cids[0])
	moved := c.allocatedTo(0, victim, cids)
	t.Logf("killing peer %d, which holds %d of %d pins", victim, len(moved), len(cids))
	killed := time.Now()
	c.Kill(victim)
	for _, x := range moved {
		c.WaitFor(func() bool { return c.pinnedOnAllocations(x, victim) }, 20*time.Second,
			"%s reallocated away from the dead peer %d and pinned", x, victim)
	}
	t.Logf("reallocated and pinned %s after the kill (ping interval %s)", time.Since(killed).Round(time.Millisecond), PingInterval)
	for _, x := range cids {
		if pin, _ := c.GetPin(0, x); len(pin.Allocations) != 2 {
			t.Errorf("%s has %d allocations after repinning, want 2", x, len(pin.Allocations))
		}
	}

	c.Restart(victim)
	fk := c.Fake(victim)
	for _, x := range moved {
		c.WaitFor(func() bool { return !fk.Pinned(x) && fk.UnpinCalls(x) > 0 }, 20*time.Second,
			"returning peer %d unpins %s, which moved away", victim, x)
	}
	for _, x := range cids {
		if !c.pinnedOnAllocations(x, victim) {
			t.Errorf("%s no longer pinned on its allocations after the peer returned", x)
		}
	}
}

// TestRepinDisabledKeepsAllocations: with repinning disabled the dead peer's pins stay
// allocated to it after its alert.
func TestRepinDisabledKeepsAllocations(t *testing.T) {
	c := New(t, 4, withReplication2(false))
	cids := testCids("norepin", 10)
	c.pinAll(t, 0, cids, api.PinOptions{})
	victim := c.victimOf(t, cids[0])
	held := c.allocatedTo(0, victim, cids)
	c.Kill(victim)
	c.WaitFor(func() bool {
		as, err := c.Peer(0).Alerts(context.Background())
		return err == nil && slices.ContainsFunc(as, func(a api.Alert) bool { return a.Peer == c.ID(victim) && a.Name == "ping" })
	}, 15*time.Second, "peer 0 raises the ping alert of peer %d", victim)
	c.Consistently(func() bool {
		for _, i := range c.Running() {
			if len(c.allocatedTo(i, victim, cids)) != len(held) {
				return false
			}
		}
		return true
	}, 2*time.Second, "allocations to the dead peer stay (repinning disabled)")
}

// TestReplicationAboveHealthyPeersFails: asking for more replicas than healthy peers fails with
// an error that names replication_factor_min and the peers available.
func TestReplicationAboveHealthyPeersFails(t *testing.T) {
	c := New(t, 4)
	ctx := context.Background()
	_, err := c.Peer(0).Pin(ctx, Cid("too-many"), api.PinOptions{ReplicationFactorMin: 5, ReplicationFactorMax: 5})
	checkNotEnough(t, err, "5 replicas on 4 peers")
	c.Kill(3)
	c.WaitFor(func() bool { return len(c.LiveIDs(0)) == 3 }, 15*time.Second, "peer 3's ping expires on peer 0")
	_, err = c.Peer(0).Pin(ctx, Cid("too-many-2"), api.PinOptions{ReplicationFactorMin: 4, ReplicationFactorMax: 4})
	checkNotEnough(t, err, "4 replicas on 3 healthy peers")
	if c.HasPin(0, Cid("too-many")) || c.HasPin(0, Cid("too-many-2")) {
		t.Fatal("a refused pin was stored")
	}
	pin, err := c.Peer(0).Pin(ctx, Cid("enough"), api.PinOptions{ReplicationFactorMin: 3, ReplicationFactorMax: 4})
	if err != nil || len(pin.Allocations) != 3 || slices.Contains(pin.Allocations, c.ID(3)) {
		t.Fatalf("3..4 replicas on 3 healthy peers: %v, allocations %v", err, pin.Allocations)
	}
}

func checkNotEnough(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "replication_factor_min") {
		t.Fatalf("%s: %v: want an ErrUnavailable naming replication_factor_min", what, err)
	}
	t.Logf("%s: %v", what, err)
}

// TestPinQueueSteersAllocation: with allocate_by ["pinqueue"], new pins avoid a peer whose pin
// queue is long (its IPFS node stalls on 20 pins).
func TestPinQueueSteersAllocation(t *testing.T) {
	c := New(t, 4, WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Allocator.AllocateBy = []string{"pinqueue", "freespace"}
	}))
	c.WaitConnected(10 * time.Second) // every peer's metrics are known before allocating
	ctx := context.Background()
	const busy = 3
	fk := c.Fake(busy)
	stalled := testCids("stalled", 20)
	t.Cleanup(func() {
		for _, x := range stalled {
			fk.Release(x)
		}
	})
	for _, x := range stalled {
		fk.StallPin(x)
		if _, err := c.Peer(0).Pin(ctx, x, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1,
			UserAllocations: []libp2ppeer.ID{c.ID(busy)}}); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitFor(func() bool { return c.Probe(busy).TrackerQueueLen() >= len(stalled) }, 15*time.Second, "peer %d's queue fills", busy)
	for _, i := range []int{0, 1} {
		c.WaitFor(func() bool { return c.pinQueueOf(i, busy) >= len(stalled) }, 15*time.Second, "peer %d sees peer %d's pinqueue metric", i, busy)
	}
	// Allocation reads a metrics snapshot up to 500 ms old (peer.candidateTTL): let the
	// snapshots taken before the metric arrived expire.
	seen := time.Now()
	c.WaitFor(func() bool { return time.Since(seen) > 600*time.Millisecond }, time.Second, "allocation snapshots refresh")
	for k, x := range testCids("steered", 30) {
		from := k % 2
		pin, err := c.Peer(from).Pin(ctx, x, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(pin.Allocations) == 0 || slices.Contains(pin.Allocations, c.ID(busy)) {
			t.Fatalf("pin %d from peer %d allocated to %v, which includes the busy peer %d", k, from, pin.Allocations, busy)
		}
	}
}

// pinQueueOf is peer j's pinqueue metric as peer i sees it (-1 if it has none).
func (c *Cluster) pinQueueOf(i, j int) int {
	ms, err := c.Peer(i).Metrics(context.Background(), "pinqueue")
	if err != nil {
		return -1
	}
	for _, m := range ms {
		if m.Peer == c.ID(j) {
			n, err := strconv.Atoi(m.Value)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// TestRepinWithDefaultMetricTTL: the dead peer's other metrics (metric_ttl 30s) outlive its ping
// (2s); repinning must go by the ping.
func TestRepinWithDefaultMetricTTL(t *testing.T) {
	c := New(t, 4, withReplication2(true), WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Informer.MetricTTL = 30 * time.Second
	}))
	cids := testCids("repin-ttl", 5)
	c.pinAll(t, 0, cids, api.PinOptions{})
	victim := c.victimOf(t, cids[0])
	moved := c.allocatedTo(0, victim, cids)
	c.Kill(victim)
	for _, x := range moved {
		c.WaitFor(func() bool { return c.pinnedOnAllocations(x, victim) }, 15*time.Second, "%s reallocated away from peer %d", x, victim)
	}
	pin, err := c.Peer(0).Pin(context.Background(), Cid("after-death"), api.PinOptions{})
	if err != nil || slices.Contains(pin.Allocations, c.ID(victim)) {
		t.Fatalf("new pin after the death: %v, allocations %v include the dead peer %d", err, pin.Allocations, victim)
	}
}

// TestRepinSweepMovesPinsOfARemovedPeer: `peers rm` forgets a peer without an alert; the
// periodic repin sweep reallocates the pins it held.
func TestRepinSweepMovesPinsOfARemovedPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the sweep to settle")
	}
	c := New(t, 4, withReplication2(true))
	cids := testCids("sweep", 12)
	c.pinAll(t, 0, cids, api.PinOptions{})
	victim := c.victimOf(t, cids[0])
	if victim == 0 {
		t.Skip("the victim is the peer that removes it")
	}
	moved := c.allocatedTo(0, victim, cids)
	if err := c.Peer(0).PeerRemove(context.Background(), c.ID(victim)); err != nil {
		t.Fatal(err)
	}
	for _, x := range moved {
		c.WaitFor(func() bool {
			pin, ok := c.GetPin(0, x)
			return ok && len(pin.Allocations) == 2 && !contains(pin.Allocations, c.ID(victim))
		}, 60*time.Second, "%s reallocated away from the removed peer %d", x, victim)
	}
}

func contains(ids []libp2ppeer.ID, id libp2ppeer.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// TestRepinDoesNotUndoAnUnpinAcrossAPartition: the majority side repins the pins of a peer
// cut off by a partition, while that peer acknowledges unpins of some of them. After Heal the
// unpins hold on every peer, whichever came first: a repin is made from the record it read
// (crdt.Rank) and loses to any change made since, however fresh its clock. Before, the repin's
// fresh timestamp won and the unpinned CIDs came back.
func TestRepinDoesNotUndoAnUnpinAcrossAPartition(t *testing.T) {
	c := New(t, 4, withReplication2(true))
	ctx := context.Background()
	cids := testCids("part-repin", 12)
	c.pinAll(t, 0, cids, api.PinOptions{})
	victim := c.victimOf(t, cids[0])
	held := c.allocatedTo(0, victim, cids)
	if len(held) < 2 {
		t.Fatalf("peer %d holds %d pins; want 2 or more", victim, len(held))
	}
	// Half are unpinned on the cut-off side before the majority repins them, half after.
	early, late := held[:len(held)/2], held[len(held)/2:]
	c.Partition(victim)
	c.WaitFor(func() bool { return len(c.Probe(victim).Host().Network().Peers()) == 0 }, 5*time.Second, "peer %d isolated", victim)
	for _, x := range early {
		if _, err := c.Peer(victim).Unpin(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	others := slices.DeleteFunc(c.Running(), func(i int) bool { return i == victim })
	for _, x := range held {
		c.WaitFor(func() bool {
			pin, ok := c.GetPin(others[0], x)
			return ok && !slices.Contains(pin.Allocations, c.ID(victim))
		}, 30*time.Second, "the majority repins %s away from peer %d", x, victim)
	}
	for _, x := range late {
		if _, err := c.Peer(victim).Unpin(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	c.Heal()
	c.WaitFor(c.Converged, 30*time.Second, "pinsets converge after Heal")
	for _, i := range c.Running() {
		for _, x := range held {
			if c.HasPin(i, x) {
				t.Errorf("peer %d: %s, unpinned on the cut-off peer (acknowledged), is pinned again", i, x)
			}
		}
	}
	for _, x := range cids {
		if !slices.Contains(held, x) && !c.HasPin(0, x) {
			t.Errorf("%s, never on peer %d, was unpinned", x, victim)
		}
	}
}
