package allocator

import (
	"slices"
	"strconv"
	"testing"
)

// TestTiesSpread: peers whose weights are all equal share the pins about evenly (a rendezvous
// hash of CID and peer), and the choice for a CID is the same each time; a peer with a better
// weight is still chosen first for every pin.
func TestTiesSpread(t *testing.T) {
	const peers, pins, repl = 10, 3000, 3
	var ps []pm
	for i := range peers {
		ps = append(ps, pm{id: "peer" + strconv.Itoa(i), free: 100})
	}
	best := pm{id: "roomy", free: 500}
	cfg := Default()
	for _, withBest := range []bool{false, true} {
		ms := metricsOf(ps...)
		if withBest {
			ms = metricsOf(append(slices.Clone(ps), best)...)
		}
		count := map[string]int{}
		for i := range pins {
			c := testCid(t, i)
			got, err := Allocate(cfg, c, repl, repl, nil, nil, ms, "")
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Allocate(cfg, c, repl, repl, nil, nil, ms, "")
			if !slices.Equal(got, again) {
				t.Fatalf("pin %d: %v, then %v", i, got, again)
			}
			for _, p := range got {
				count[string(p)]++
			}
		}
		if withBest {
			if count[best.id] != pins {
				t.Fatalf("the peer with the most free space got %d of %d pins", count[best.id], pins)
			}
			delete(count, best.id)
		}
		share := pins * (repl - map[bool]int{false: 0, true: 1}[withBest]) / peers // expected per tied peer
		for _, p := range ps {
			if n := count[p.id]; n < share*3/4 || n > share*5/4 {
				t.Errorf("with best=%v: %s got %d pins, want about %d: %v", withBest, p.id, n, share, count)
			}
		}
	}
}
