package allocator

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
)

// The ranking of candidates is a tree of buckets built from allocate_by:
//
//   - a "tag:NAME" level splits the peers into one bucket per tag value (a missing tag is the
//     value ""). Buckets are ordered by the sum of the weights of the first numeric metric that
//     follows in allocate_by (higher first; ties by tag value), and each bucket holds the tree
//     of the following levels, so ["tag:region", "tag:rack", "freespace"] nests racks inside
//     regions;
//   - the first numeric level makes a leaf: its peers sorted by the weights of that metric and
//     every later numeric metric (higher first), ties by peer ID. Tags listed after a numeric
//     metric are ignored: put tags first.
//
// Picking walks the tree: at each level it takes the bucket with the fewest peers chosen so
// far (ties by bucket order), so with nothing chosen yet picks go round-robin across buckets
// in bucket order, and peers chosen beforehand (kept allocations, local, user allocations) count
// against their own bucket, spreading new peers away from it.

type node struct {
	peers  []peer.ID // leaf: peers in rank order
	next   int       // leaf: index of the first peer that may still be unchosen
	kids   []*node   // inner: buckets in bucket order
	chosen int       // chosen peers under this node
	left   int       // unchosen peers under this node
}

type tree struct {
	root  *node
	path  map[peer.ID][]*node
	taken map[peer.ID]bool
}

func newTree(by []string, cands map[peer.ID]map[string]api.Metric) *tree {
	peers := make([]peer.ID, 0, len(cands))
	for p := range cands {
		peers = append(peers, p)
	}
	t := &tree{path: make(map[peer.ID][]*node, len(peers)), taken: make(map[peer.ID]bool)}
	t.root = t.build(by, cands, peers, nil)
	return t
}

func (t *tree) build(by []string, cands map[peer.ID]map[string]api.Metric, peers []peer.ID, ancestors []*node) *node {
	n := &node{left: len(peers)}
	path := append(slices.Clip(ancestors), n)
	if len(by) == 0 || !strings.HasPrefix(by[0], TagPrefix) {
		n.peers = sortByWeights(numeric(by), cands, peers)
		for _, p := range n.peers {
			t.path[p] = path
		}
		return n
	}
	tag := by[0]
	groups := make(map[string][]peer.ID)
	for _, p := range peers {
		v := tagValue(cands[p], tag)
		groups[v] = append(groups[v], p)
	}
	aggName := ""
	if nums := numeric(by[1:]); len(nums) > 0 {
		aggName = nums[0]
	}
	type bucket struct {
		value string
		agg   int64
		node  *node
	}
	buckets := make([]bucket, 0, len(groups))
	for v, ps := range groups {
		var agg int64
		if aggName != "" {
			for _, p := range ps {
				agg = satAdd(agg, cands[p][aggName].Weight)
			}
		}
		buckets = append(buckets, bucket{value: v, agg: agg, node: t.build(by[1:], cands, ps, path)})
	}
	slices.SortFunc(buckets, func(a, b bucket) int {
		if c := cmp.Compare(b.agg, a.agg); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	n.kids = make([]*node, len(buckets))
	for i, b := range buckets {
		n.kids[i] = b.node
	}
	return n
}

// mark records p as chosen beforehand. Peers that are not candidates are ignored.
func (t *tree) mark(p peer.ID) {
	path, ok := t.path[p]
	if !ok || t.taken[p] {
		return
	}
	t.taken[p] = true
	for _, n := range path {
		n.chosen++
		n.left--
	}
}

// pick returns the next peer to allocate, or false when every candidate is chosen.
func (t *tree) pick() (peer.ID, bool) {
	n := t.root
	if n.left <= 0 {
		return "", false
	}
	for n.kids != nil {
		var best *node
		for _, k := range n.kids {
			if k.left > 0 && (best == nil || k.chosen < best.chosen) {
				best = k
			}
		}
		n = best
	}
	for t.taken[n.peers[n.next]] {
		n.next++
	}
	p := n.peers[n.next]
	t.mark(p)
	return p, true
}

// sortByWeights orders peers by the weights of names (higher first, in order), ties by ID.
func sortByWeights(names []string, cands map[peer.ID]map[string]api.Metric, peers []peer.ID) []peer.ID {
	type row struct {
		id peer.ID
		w  []int64
	}
	rows := make([]row, len(peers))
	for i, p := range peers {
		w := make([]int64, len(names))
		for j, name := range names {
			w[j] = cands[p][name].Weight
		}
		rows[i] = row{id: p, w: w}
	}
	slices.SortFunc(rows, func(a, b row) int {
		for j := range a.w {
			if c := cmp.Compare(b.w[j], a.w[j]); c != 0 {
				return c
			}
		}
		return strings.Compare(string(a.id), string(b.id))
	})
	out := make([]peer.ID, len(rows))
	for i, r := range rows {
		out[i] = r.id
	}
	return out
}

func numeric(by []string) []string {
	var out []string
	for _, name := range by {
		if !strings.HasPrefix(name, TagPrefix) {
			out = append(out, name)
		}
	}
	return out
}

func tagValue(ms map[string]api.Metric, tag string) string {
	if m, ok := ms[tag]; ok && m.Valid {
		return m.Value
	}
	return ""
}

func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}
