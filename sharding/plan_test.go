package sharding

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestSplit(t *testing.T) {
	cases := []struct {
		name  string
		sizes []int
		max   uint64
		want  []Range
	}{
		{"empty", nil, 10, nil},
		{"one", []int{4}, 10, []Range{{0, 1, 4}}},
		{"exact fit", []int{5, 5, 5}, 10, []Range{{0, 2, 10}, {2, 3, 5}}},
		{"over", []int{6, 5, 5, 1}, 10, []Range{{0, 1, 6}, {1, 4, 11 - 0}}},
	}
	cases[3].want = []Range{{0, 1, 6}, {1, 3, 10}, {3, 4, 1}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Split(c.sizes, c.max)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Split(%v, %d) = %v, want %v", c.sizes, c.max, got, c.want)
			}
		})
	}
}

func TestSplitBlockLargerThanShard(t *testing.T) {
	if _, err := Split([]int{3, 11}, 10); err == nil {
		t.Fatal("a block over the shard size was accepted")
	}
}

func TestSplitCapsLinks(t *testing.T) {
	sizes := make([]int, MaxLinks+1)
	for i := range sizes {
		sizes[i] = 1
	}
	got, err := Split(sizes, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].To != MaxLinks {
		t.Fatalf("shards %v, want the first cut at %d links", got, MaxLinks)
	}
}

func ids(n int) []peer.ID {
	out := make([]peer.ID, n)
	for i := range out {
		out[i] = peer.ID(string(rune('a' + i)))
	}
	return out
}

func TestPlaceSpreadsAndChargesFreeSpace(t *testing.T) {
	p := ids(4)
	cands := []Candidate{{p[0], 40}, {p[1], 40}, {p[2], 40}, {p[3], 40}}
	shards := []Range{{0, 1, 30}, {1, 2, 30}, {2, 3, 30}, {3, 4, 30}}
	got, err := Place(shards, cands, Want{Min: 1, Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[peer.ID]bool{}
	for i, ps := range got {
		if len(ps) != 1 {
			t.Fatalf("shard %d on %v, want one peer", i, ps)
		}
		if seen[ps[0]] {
			t.Fatalf("peer %s got two 30-byte shards with 40 bytes free: %v", ps[0], got)
		}
		seen[ps[0]] = true
	}
}

func TestPlaceAvoidsPreviousShardPeers(t *testing.T) {
	p := ids(3)
	cands := []Candidate{{p[0], 1000}, {p[1], 500}, {p[2], 400}}
	got, err := Place([]Range{{0, 1, 10}, {1, 2, 10}}, cands, Want{Min: 2, Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0], []peer.ID{p[0], p[1]}) {
		t.Fatalf("first shard on %v, want the two emptiest", got[0])
	}
	if got[1][0] != p[2] {
		t.Fatalf("second shard on %v, want the peer without the first shard first", got[1])
	}
}

func TestPlacePrefersUserAllocations(t *testing.T) {
	p := ids(3)
	cands := []Candidate{{p[0], 1000}, {p[1], 500}, {p[2], 400}}
	got, err := Place([]Range{{0, 1, 10}}, cands, Want{Min: 1, Max: 1, Preferred: []peer.ID{p[2]}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0][0] != p[2] {
		t.Fatalf("shard on %v, want the user's allocation %s", got[0], p[2])
	}
}

func TestPlaceFailsWhenShardsDoNotFit(t *testing.T) {
	p := ids(4)
	cands := []Candidate{{p[0], 10}, {p[1], 10}, {p[2], 10}, {p[3], 10}}
	shards := []Range{{0, 1, 8}, {1, 2, 8}, {2, 3, 8}, {3, 4, 8}, {4, 5, 8}}
	_, err := Place(shards, cands, Want{Min: 1, Max: 1})
	if !errors.Is(err, ErrNoRoom) {
		t.Fatalf("err = %v, want ErrNoRoom", err)
	}
	if _, err := Place(shards[:1], cands, Want{Min: 5, Max: 5}); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("replication 5 on 4 peers: err = %v, want ErrNoRoom", err)
	}
	if _, err := Place(shards[:1], nil, Want{Min: 1, Max: 1}); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("no candidates: err = %v, want ErrNoRoom", err)
	}
}

func TestReplace(t *testing.T) {
	a, b, c, d := peer.ID("a"), peer.ID("b"), peer.ID("c"), peer.ID("d")
	shards := []Range{{0, 1, 10}, {1, 2, 10}}
	cands := []Candidate{{a, 30}, {b, 30}, {c, 15}, {d, 12}}
	// b failed shard 0; a holds both shards, c holds shard 1 (5 bytes left), d has 12.
	places := [][]peer.ID{{a}, {a, c}}
	got, err := Replace(shards, cands, places, 0, map[peer.ID]bool{b: true})
	if err != nil || got != d {
		t.Fatalf("Replace = %v, %v; want d (the only peer with room not holding shard 0 and not failed)", got, err)
	}
	if _, err := Replace(shards, cands, places, 0, map[peer.ID]bool{b: true, d: true}); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("with d failed too: err = %v, want ErrNoRoom", err)
	}
	// Without failures the roomiest peer not holding the shard wins, ties by ID.
	if got, err := Replace(shards, []Candidate{{b, 30}, {c, 30}, {d, 40}}, [][]peer.ID{{}, {d}}, 0, nil); err != nil || got != b {
		t.Fatalf("Replace = %v, %v; want b", got, err)
	}
}
