package testcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/peer"
)

// seed is TESTCLUSTER_SEED when set (to replay a failure), else random; tests log it.
func seed(t *testing.T) uint64 {
	t.Helper()
	s := rand.Uint64()
	if v := os.Getenv("TESTCLUSTER_SEED"); v != "" {
		var err error
		if s, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("TESTCLUSTER_SEED=%q: %v", v, err)
		}
	}
	t.Logf("seed %d (replay with TESTCLUSTER_SEED=%d)", s, s)
	return s
}

// randomOps issues n random pin, unpin and pin-update ops on peer p over the CIDs cids.
// Refusals that the racing of peers makes legitimate (unpin or update of a CID this peer does
// not hold yet or any more) are expected; any other error fails the test.
func randomOps(t *testing.T, p *peer.Peer, rng *rand.Rand, cids []api.Cid, n int, tag string) error {
	ctx := context.Background()
	for k := 0; k < n; k++ {
		c := cids[rng.IntN(len(cids))]
		var err error
		switch r := rng.IntN(10); {
		case r < 5:
			_, err = p.Pin(ctx, c, api.PinOptions{Name: fmt.Sprintf("%s-%d", tag, k), Metadata: map[string]string{"op": strconv.Itoa(k)}})
		case r < 8:
			_, err = p.Unpin(ctx, c)
		default:
			to := cids[rng.IntN(len(cids))]
			_, err = p.Pin(ctx, to, api.PinOptions{PinUpdate: c, Name: fmt.Sprintf("%s-upd-%d", tag, k)})
		}
		if err != nil && !errors.Is(err, api.ErrNotFound) {
			return fmt.Errorf("%s op %d on %s: %w", tag, k, c, err)
		}
	}
	return nil
}

func testCids(prefix string, n int) []api.Cid {
	out := make([]api.Cid, n)
	for i := range out {
		out[i] = Cid(fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

// pinnedCids lists what peer i's fake IPFS node holds.
func (c *Cluster) pinnedCids(i int) []string {
	var out []string
	_ = c.Fake(i).PinLs(context.Background(), func(cid api.Cid, _ api.PinMode) error {
		out = append(out, cid.String())
		return nil
	})
	slices.Sort(out)
	return out
}

// pinsetCids lists the CIDs of peer i's pinset.
func (c *Cluster) pinsetCids(i int) []string {
	var out []string
	for _, s := range c.PinSet(i) {
		var pin api.Pin
		if err := json.Unmarshal([]byte(s), &pin); err != nil {
			panic(err)
		}
		out = append(out, pin.Cid.String())
	}
	slices.Sort(out)
	return out
}

// TestConvergenceRandomOps: concurrent random pin/unpin/update ops on every peer (some lost to
// a partition in the middle, the rest delivered by gossip in whatever order, with duplicates
// from anti-entropy) leave every peer with the same pinset byte for byte, and every IPFS node
// holding exactly that pinset's CIDs (replication -1: every peer pins everything).
func TestConvergenceRandomOps(t *testing.T) {
	s := seed(t)
	c := New(t, 3)
	cids := testCids("prop", 25)
	const opsPerPeer = 100
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		rng := rand.New(rand.NewPCG(s, uint64(i)))
		go func(i int) {
			defer wg.Done()
			errs[i] = randomOps(t, c.Peer(i), rng, cids, opsPerPeer/2, fmt.Sprintf("p%d", i))
		}(i)
	}
	wg.Wait()
	// Second half with peer 2 cut off: what it does and what the others do cross only after
	// Heal, by anti-entropy.
	c.Partition(2)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		rng := rand.New(rand.NewPCG(s, uint64(i)+100))
		go func(i int) {
			defer wg.Done()
			if err := randomOps(t, c.Peer(i), rng, cids, opsPerPeer/2, fmt.Sprintf("p%d-b", i)); err != nil {
				errs[i] = err
			}
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c.Heal()
	c.WaitFor(c.Converged, 30*time.Second, "pinsets converge after 300 random ops")
	want := c.pinsetCids(0)
	t.Logf("converged on %d pins", len(want))
	for i := 0; i < 3; i++ {
		c.WaitFor(func() bool { return slices.Equal(c.pinnedCids(i), want) }, 30*time.Second,
			"peer %d's IPFS node holds exactly the pinset (%d CIDs)", i, len(want))
	}
}
