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
//   - each leading "tag:NAME" level splits the peers into one bucket per tag value (a missing
//     or invalid tag is the value ""). Buckets are ordered by the sum of the weights of the
//     first numeric metric of allocate_by (higher first; ties by tag value), and each bucket
//     holds the tree of the following levels, so ["tag:region", "tag:rack", "freespace"]
//     nests racks inside regions;
//   - the leaves hold peers sorted by the weights of the numeric metrics in allocate_by order
//     (higher first), ties by peer ID. Tags listed after a numeric metric are ignored: put tags
//     first.
//
// Picking walks the tree: at each level it takes the bucket with the fewest peers chosen so
// far (ties by bucket order), so with nothing chosen yet picks go round-robin across buckets
// in bucket order, and peers chosen beforehand (kept allocations, local, user allocations)
// count against their own bucket, spreading new peers away from it.

// pool is the set of candidates for one decision: the peers that have every metric
// allocate_by needs, in rank order (numeric weights descending, then peer ID).
type pool struct {
	tags  []string // leading tag names of allocate_by
	nums  []string // numeric metric names of allocate_by
	cands []cand
	src   map[peer.ID]map[string]api.Metric
}

type cand struct {
	id   peer.ID
	tags []string // value of each leading tag
	w    []int64  // weight of each numeric metric
}

func newPool(by []string, src map[peer.ID]map[string]api.Metric) *pool {
	p := &pool{src: src}
	for i, name := range by {
		if strings.HasPrefix(name, TagPrefix) {
			if len(p.nums) == 0 {
				p.tags = append(p.tags, by[i])
			}
			continue
		}
		p.nums = append(p.nums, name)
	}
	p.cands = make([]cand, 0, len(src))
	tagBuf := make([]string, 0, len(src)*len(p.tags))
	wBuf := make([]int64, 0, len(src)*len(p.nums))
	for id, ms := range src {
		if !p.eligible(id, ms) {
			continue
		}
		t0, w0 := len(tagBuf), len(wBuf)
		for _, tag := range p.tags {
			tagBuf = append(tagBuf, tagValue(ms, tag))
		}
		for _, name := range p.nums {
			wBuf = append(wBuf, ms[name].Weight)
		}
		p.cands = append(p.cands, cand{id: id, tags: tagBuf[t0:len(tagBuf):len(tagBuf)], w: wBuf[w0:len(wBuf):len(wBuf)]})
	}
	// Sort an index (cheap swaps) and then permute the candidates once.
	order := make([]int32, len(p.cands))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int {
		a, b := &p.cands[x], &p.cands[y]
		for j := range a.w {
			if c := cmp.Compare(b.w[j], a.w[j]); c != 0 {
				return c
			}
		}
		return strings.Compare(string(a.id), string(b.id))
	})
	sorted := make([]cand, len(p.cands))
	for i, k := range order {
		sorted[i] = p.cands[k]
	}
	p.cands = sorted
	return p
}

// has reports whether id is a candidate.
func (p *pool) has(id peer.ID) bool {
	ms, ok := p.src[id]
	return ok && p.eligible(id, ms)
}

func (p *pool) eligible(id peer.ID, ms map[string]api.Metric) bool {
	if id == "" || ms == nil {
		return false
	}
	for _, name := range p.nums {
		if m, ok := ms[name]; !ok || !m.Valid {
			return false
		}
	}
	return true
}

func (p *pool) ids() []peer.ID {
	out := make([]peer.ID, len(p.cands))
	for i, c := range p.cands {
		out[i] = c.id
	}
	return out
}

type node struct {
	parent *node
	peers  []int // leaf: indexes into pool.cands, in rank order
	next   int   // leaf: index of the first peer that may still be unchosen
	kids   []*node
	chosen int // chosen peers under this node
	left   int // unchosen peers under this node
}

type tree struct {
	pool   *pool
	root   *node
	leafOf []*node
	taken  []bool
}

func newTree(p *pool) *tree {
	t := &tree{pool: p, leafOf: make([]*node, len(p.cands)), taken: make([]bool, len(p.cands))}
	all := make([]int, len(p.cands))
	for i := range all {
		all[i] = i
	}
	t.root = t.build(nil, 0, all)
	return t
}

func (t *tree) build(parent *node, level int, members []int) *node {
	n := &node{parent: parent, left: len(members)}
	if level == len(t.pool.tags) {
		n.peers = members
		for _, i := range members {
			t.leafOf[i] = n
		}
		return n
	}
	type bucket struct {
		value   string
		agg     int64
		members []int
	}
	var buckets []bucket
	var index map[string]int    // used once there are many buckets
	for _, i := range members { // members are in rank order; buckets keep it
		c := &t.pool.cands[i]
		v := c.tags[level]
		k := -1
		if index != nil {
			if j, ok := index[v]; ok {
				k = j
			}
		} else {
			k = slices.IndexFunc(buckets, func(b bucket) bool { return b.value == v })
		}
		if k < 0 {
			buckets = append(buckets, bucket{value: v})
			k = len(buckets) - 1
			if index == nil && len(buckets) > 16 {
				index = make(map[string]int, 2*len(buckets))
				for j, b := range buckets {
					index[b.value] = j
				}
			} else if index != nil {
				index[v] = k
			}
		}
		buckets[k].members = append(buckets[k].members, i)
		if len(c.w) > 0 {
			buckets[k].agg = satAdd(buckets[k].agg, c.w[0])
		}
	}
	slices.SortFunc(buckets, func(a, b bucket) int {
		if c := cmp.Compare(b.agg, a.agg); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	n.kids = make([]*node, len(buckets))
	for k, b := range buckets {
		n.kids[k] = t.build(n, level+1, b.members)
	}
	return n
}

// mark records the candidate id as chosen. Peers that are not candidates are ignored.
func (t *tree) mark(id peer.ID) {
	for i := range t.pool.cands {
		if t.pool.cands[i].id == id {
			t.markIndex(i)
			return
		}
	}
}

func (t *tree) markIndex(i int) {
	if t.taken[i] {
		return
	}
	t.taken[i] = true
	for n := t.leafOf[i]; n != nil; n = n.parent {
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
	i := n.peers[n.next]
	t.markIndex(i)
	return t.pool.cands[i].id, true
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
