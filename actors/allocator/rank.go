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
//     (higher first), then by peer ID. Tags listed after a numeric metric are ignored: put tags
//     first.
//
// Picking walks the tree: at each level it takes the bucket with the fewest peers chosen so
// far (ties by bucket order), so with nothing chosen yet picks go round-robin across buckets
// in bucket order, and peers chosen beforehand (kept allocations, local, user allocations)
// count against their own bucket, spreading new peers away from it. In a leaf it takes the
// best unchosen peer; among peers whose weights are all equal it takes the highest
// rendezvous score of the pin's CID and the peer (tieScore), not the lowest peer ID: peers
// that report the same metrics (empty disks of one size, a fresh cluster, the fake backends
// of the scale harness) then share the pins evenly instead of every pin going to the same
// few, and the choice for a CID is the same on every peer and every retry.

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
	h    uint64   // hash of id, for tieScore
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
		if !p.eligible(id, ms) || follower(ms) {
			continue // a follower stays a candidate (has) for user and kept allocations only
		}
		t0, w0 := len(tagBuf), len(wBuf)
		for _, tag := range p.tags {
			tagBuf = append(tagBuf, tagValue(ms, tag))
		}
		for _, name := range p.nums {
			wBuf = append(wBuf, ms[name].Weight)
		}
		p.cands = append(p.cands, cand{id: id, tags: tagBuf[t0:len(tagBuf):len(tagBuf)], w: wBuf[w0:len(wBuf):len(wBuf)],
			h: hashBytes([]byte(id))})
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

// follower reports whether the metrics are a follower peer's (a valid follower metric,
// cluster.follower_mode): the ranked choice leaves it out, and it is allocated only when asked
// for (user allocations) or kept when it already holds the pin.
func follower(ms map[string]api.Metric) bool {
	m, ok := ms[metricFollower]
	return ok && m.Valid
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

// node is one bucket of the tree (or a leaf). Nodes live in skeleton.nodes; the root is 0.
type node struct {
	parent int   // -1 for the root
	kids   []int // inner: buckets in bucket order
	peers  []int // leaf: indexes into pool.cands, in rank order
	size   int   // candidates under this node
}

// skeleton is the immutable shape of the tree for one pool, shared by every decision.
type skeleton struct {
	nodes  []node
	leafOf []int // candidate index -> leaf node
}

func newSkeleton(p *pool) *skeleton {
	sk := &skeleton{leafOf: make([]int, len(p.cands))}
	all := make([]int, len(p.cands))
	for i := range all {
		all[i] = i
	}
	sk.build(p, -1, 0, all)
	return sk
}

func (sk *skeleton) build(p *pool, parent, level int, members []int) int {
	id := len(sk.nodes)
	sk.nodes = append(sk.nodes, node{parent: parent, size: len(members)})
	if level == len(p.tags) {
		sk.nodes[id].peers = members
		for _, i := range members {
			sk.leafOf[i] = id
		}
		return id
	}
	type bucket struct {
		value   string
		agg     int64
		members []int
	}
	var buckets []bucket
	var index map[string]int    // used once there are many buckets
	for _, i := range members { // members are in rank order; buckets keep it
		c := &p.cands[i]
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
	kids := make([]int, len(buckets))
	for k, b := range buckets {
		kids[k] = sk.build(p, id, level+1, b.members)
	}
	sk.nodes[id].kids = kids
	return id
}

// tree is the per-decision state over a skeleton: what is chosen so far.
type tree struct {
	pool   *pool
	sk     *skeleton
	seed   uint64 // hash of the pin's CID, for tieScore
	chosen []int  // per node: chosen candidates under it
	left   []int  // per node: unchosen candidates under it
	next   []int  // per leaf node: first index in peers that may be unchosen
	taken  []bool // per candidate
}

func newTree(p *pool, sk *skeleton, c api.Cid) *tree {
	n := len(sk.nodes)
	buf := make([]int, 3*n)
	t := &tree{pool: p, sk: sk, chosen: buf[:n:n], left: buf[n : 2*n : 2*n], next: buf[2*n:], taken: make([]bool, len(p.cands))}
	if c.Defined() {
		t.seed = hashBytes(c.Bytes())
	}
	for i := range sk.nodes {
		t.left[i] = sk.nodes[i].size
	}
	return t
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
	for n := t.sk.leafOf[i]; n >= 0; n = t.sk.nodes[n].parent {
		t.chosen[n]++
		t.left[n]--
	}
}

// pick returns the next peer to allocate, or false when every candidate is chosen.
func (t *tree) pick() (peer.ID, bool) {
	if len(t.sk.nodes) == 0 || t.left[0] <= 0 {
		return "", false
	}
	n := 0
	for t.sk.nodes[n].kids != nil {
		best := -1
		for _, k := range t.sk.nodes[n].kids {
			if t.left[k] > 0 && (best < 0 || t.chosen[k] < t.chosen[best]) {
				best = k
			}
		}
		n = best
	}
	peers := t.sk.nodes[n].peers
	for t.taken[peers[t.next[n]]] {
		t.next[n]++
	}
	i := peers[t.next[n]]
	cands := t.pool.cands
	best := tieScore(t.seed, cands[i].h)
	for _, k := range peers[t.next[n]+1:] { // the peers tied with i follow it
		if !slices.Equal(cands[k].w, cands[i].w) {
			break
		}
		if s := tieScore(t.seed, cands[k].h); !t.taken[k] && s > best {
			i, best = k, s
		}
	}
	t.markIndex(i)
	return cands[i].id, true
}

// tieScore is the rendezvous score of a pin (seed: the hash of its CID) on a peer (h: the
// hash of its ID): splitmix64's finalizer over their xor, so each CID orders tied peers its
// own way.
func tieScore(seed, h uint64) uint64 {
	z := seed ^ h
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// hashBytes is FNV-1a (64 bits) of b.
func hashBytes(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
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
