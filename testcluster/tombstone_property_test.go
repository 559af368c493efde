package testcluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
)

// TestTombstonesSurvivePartitionsAndKills is a property test of tombstone collection: under a
// seeded random schedule of pins, unpins, partitions, heals, kills and restarts, with tombstone
// collection running every 200 ms on every peer, every acknowledged unpin stays unpinned, every
// acknowledged pin that was not unpinned stays pinned, and after healing every peer holds the
// same pinset. Each CID is pinned once and unpinned at most once, so the expected state is
// unambiguous. PINCLUSTER_PROPERTY_SEED replays one seed; PINCLUSTER_PROPERTY_RUNS sets how
// many seeds run (default 2).
func TestTombstonesSurvivePartitionsAndKills(t *testing.T) {
	if testing.Short() {
		t.Skip("random partitions and kills: skipped with -short")
	}
	seeds := []uint64{1, 2}
	if n, err := strconv.Atoi(os.Getenv("PINCLUSTER_PROPERTY_RUNS")); err == nil && n > 0 {
		seeds = seeds[:0]
		for i := range n {
			seeds = append(seeds, uint64(i+1))
		}
	}
	if s, err := strconv.ParseUint(os.Getenv("PINCLUSTER_PROPERTY_SEED"), 10, 64); err == nil {
		seeds = []uint64{s}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { tombstoneRun(t, seed) })
	}
}

func tombstoneRun(t *testing.T, seed uint64) {
	const peers, steps = 4, 60
	rng := rand.New(rand.NewPCG(seed, 0x7107))
	c := New(t, peers, WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Cluster.StateSyncInterval = config.Duration(200 * time.Millisecond)
		cfg.Consensus.CRDT.RebroadcastInterval = config.Duration(200 * time.Millisecond)
	}))
	c.WaitConnected(10 * time.Second)
	ctx := context.Background()

	pinned := map[api.Cid]bool{} // acknowledged pins; false once an unpin was acknowledged
	var order []api.Cid
	killed := map[int]bool{}
	next := 0
	running := func() []int {
		var out []int
		for i := range peers {
			if !killed[i] {
				out = append(out, i)
			}
		}
		return out
	}
	for step := 0; step < steps; step++ {
		live := running()
		at := live[rng.IntN(len(live))]
		switch r := rng.IntN(100); {
		case r < 40:
			x := Cid(fmt.Sprintf("prop-%d-%d", seed, next))
			next++
			if _, err := c.Peer(at).Pin(ctx, x, api.PinOptions{}); err == nil {
				pinned[x] = true
				order = append(order, x)
			}
		case r < 70:
			if len(order) == 0 {
				continue
			}
			x := order[rng.IntN(len(order))]
			if !pinned[x] {
				continue
			}
			if _, err := c.Peer(at).Unpin(ctx, x); err == nil {
				pinned[x] = false
			}
		case r < 80:
			side := rng.IntN(peers)
			t.Logf("step %d: partition {%d} | rest", step, side)
			c.Partition(side)
		case r < 88:
			t.Logf("step %d: heal", step)
			c.Heal()
		case r < 94:
			if len(live) > 2 {
				t.Logf("step %d: kill %d", step, at)
				c.Kill(at)
				killed[at] = true
			}
		default:
			for i := range killed {
				t.Logf("step %d: restart %d", step, i)
				c.Restart(i)
				delete(killed, i)
				break
			}
		}
		// Let gossip, anti-entropy and several collection rounds run between steps.
		wait(time.Duration(50+rng.IntN(400)) * time.Millisecond)
	}
	c.Heal()
	for i := range killed {
		c.Restart(i)
	}
	c.Heal()
	want := 0
	for _, ok := range pinned {
		if ok {
			want++
		}
	}
	c.WaitFor(func() bool { return c.Converged() && c.CountPins(0) == want }, 60*time.Second,
		fmt.Sprintf("seed %d: every peer converges on the %d acknowledged pins", seed, want))
	// A few more collection rounds after convergence must change nothing.
	c.Consistently(func() bool { return c.Converged() }, time.Second, "stays converged")
	for i := range peers {
		for x, ok := range pinned {
			if got := c.HasPin(i, x); got != ok {
				t.Errorf("seed %d: peer %d: %s present=%v, want %v (acknowledged %s)", seed, i, x, got, ok, map[bool]string{true: "pin", false: "unpin"}[ok])
			}
		}
	}
}
