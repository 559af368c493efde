package allocator

import (
	"fmt"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// FuzzAllocate checks the invariants of Allocate on arbitrary inputs: no panic, no duplicate,
// between min and max peers, every peer a candidate or a kept allocation, local included.
func FuzzAllocate(f *testing.F) {
	f.Add([]byte{5, 3, 2, 9, 1, 4, 7}, 2, 3, uint8(0b1010), uint8(0b0001), uint8(3))
	f.Add([]byte{}, -1, -1, uint8(0), uint8(0), uint8(0))
	f.Add([]byte{1, 1, 1, 1}, 0, 4, uint8(0xff), uint8(0xff), uint8(9))
	f.Fuzz(func(t *testing.T, spec []byte, min, max int, curMask, userMask, local uint8) {
		if len(spec) > 12 || min < -2 || min > 10 || max < -2 || max > 10 {
			return
		}
		var ps []pm
		for i, b := range spec {
			p := pm{id: fmt.Sprintf("p%d", i), free: int64(b % 8), queue: int64(b % 3), tags: []string{fmt.Sprintf("region=r%d", b%3)}}
			if b%11 == 0 {
				p.free = -1 // not a candidate
			}
			ps = append(ps, p)
		}
		cands := metricsOf(ps...)
		pick := func(mask uint8) []peer.ID {
			var out []peer.ID
			for i := 0; i < 8; i++ {
				if mask&(1<<i) != 0 {
					out = append(out, peer.ID(fmt.Sprintf("p%d", i)))
				}
			}
			return out
		}
		current, user := pick(curMask), pick(userMask)
		loc := peer.ID(fmt.Sprintf("p%d", local%16))
		got, err := Allocate(Default(), testCid(t, 0), min, max, current, user, cands, loc)
		if err != nil {
			return
		}
		pool := NewRanking(Default(), cands).pool
		seen := map[peer.ID]bool{}
		for _, p := range got {
			if seen[p] {
				t.Fatalf("duplicate %s in %v", p, got)
			}
			seen[p] = true
			if !pool.has(p) && !slices.Contains(current, p) {
				t.Fatalf("%s is neither a candidate nor a kept allocation", p)
			}
		}
		if min >= 0 && max >= 0 {
			if len(got) < min || len(got) > max {
				t.Fatalf("%d peers, want between %d and %d", len(got), min, max)
			}
			if pool.has(loc) && max > 0 && !seen[loc] {
				t.Fatalf("local %s missing from %v", loc, got)
			}
		}
	})
}
