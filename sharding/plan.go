package sharding

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// MaxLinks is the most blocks one shard node links to (IPFS Cluster's limit: 5984 links of a
// dag-cbor map fit in one block).
const MaxLinks = 5984

// Range is one shard: the blocks From (inclusive) to To (exclusive) in import order, Bytes
// their total size.
type Range struct {
	From, To int
	Bytes    uint64
}

// Split groups blocks of the given sizes, in order, into shards of at most maxBytes and
// MaxLinks blocks. A block larger than maxBytes is an error (the caller checks that a shard
// holds at least one chunk; an inner node over the chunk size is the only way here).
func Split(sizes []int, maxBytes uint64) ([]Range, error) {
	var out []Range
	cur := Range{}
	for i, n := range sizes {
		if uint64(n) > maxBytes {
			return nil, fmt.Errorf("block %d of the DAG is %d bytes, more than the shard size %d: raise the shard size", i, n, maxBytes)
		}
		if cur.To > cur.From && (cur.Bytes+uint64(n) > maxBytes || cur.To-cur.From >= MaxLinks) {
			out = append(out, cur)
			cur = Range{From: i, To: i}
		}
		cur.To = i + 1
		cur.Bytes += uint64(n)
	}
	if cur.To > cur.From {
		out = append(out, cur)
	}
	return out, nil
}

// Candidate is a peer that can take shards, with its free space (the freespace metric).
type Candidate struct {
	Peer peer.ID
	Free uint64
}

// Want is the replication of each shard: at least Min peers, up to Max; Preferred peers (the
// user's allocations) first when they have room.
type Want struct {
	Min, Max  int
	Preferred []peer.ID
}

// ErrNoRoom: a shard cannot be placed on Want.Min peers with room for it.
var ErrNoRoom = errors.New("not enough peers with free space for the shards")

// Place chooses the peers of each shard (see the package doc). Each peer is charged the bytes
// of every shard it takes, so a peer is never planned past its free space.
func Place(shards []Range, cands []Candidate, want Want) ([][]peer.ID, error) {
	free := make(map[peer.ID]uint64, len(cands))
	for _, c := range cands {
		free[c.Peer] = c.Free
	}
	out := make([][]peer.ID, len(shards))
	var prev []peer.ID
	for i, sh := range shards {
		var fit []peer.ID
		for _, c := range cands {
			if free[c.Peer] >= sh.Bytes {
				fit = append(fit, c.Peer)
			}
		}
		sort.SliceStable(fit, func(a, b int) bool {
			pa, pb := fit[a], fit[b]
			if x, y := slices.Contains(want.Preferred, pa), slices.Contains(want.Preferred, pb); x != y {
				return x
			}
			if x, y := slices.Contains(prev, pa), slices.Contains(prev, pb); x != y {
				return !x
			}
			if free[pa] != free[pb] {
				return free[pa] > free[pb]
			}
			return pa < pb
		})
		if len(fit) < want.Min {
			return nil, fmt.Errorf("%w: shard %d of %d (%d bytes) needs %d peers with that much room; %s",
				ErrNoRoom, i+1, len(shards), sh.Bytes, want.Min, describe(cands, free))
		}
		n := min(len(fit), want.Max)
		out[i] = fit[:n:n]
		for _, p := range out[i] {
			free[p] -= sh.Bytes
		}
		prev = out[i]
	}
	return out, nil
}

// describe says how much room each candidate has left in the plan.
func describe(cands []Candidate, free map[peer.ID]uint64) string {
	if len(cands) == 0 {
		return "no peer publishes a freespace metric"
	}
	parts := make([]string, len(cands))
	for i, c := range cands {
		parts[i] = fmt.Sprintf("%s has %d bytes left of %d", c.Peer, free[c.Peer], c.Free)
	}
	return strings.Join(parts, ", ")
}

// Replace chooses a peer to take shard i in place of one whose push failed: a candidate not
// among places[i] (the shard's other peers; the failed one already taken out) nor in exclude
// (every peer whose push failed in this add), with room for the shard once every shard of the
// plan is charged to its peers; the most room left first, then the lowest ID. ErrNoRoom when
// there is none.
func Replace(shards []Range, cands []Candidate, places [][]peer.ID, i int, exclude map[peer.ID]bool) (peer.ID, error) {
	free := make(map[peer.ID]uint64, len(cands))
	for _, c := range cands {
		free[c.Peer] = c.Free
	}
	for j, ps := range places {
		for _, p := range ps {
			free[p] -= min(free[p], shards[j].Bytes)
		}
	}
	var best peer.ID
	for _, c := range cands {
		p := c.Peer
		if exclude[p] || slices.Contains(places[i], p) || free[p] < shards[i].Bytes {
			continue
		}
		if best == "" || free[p] > free[best] || free[p] == free[best] && p < best {
			best = p
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w: no other peer has %d bytes free for shard %d of %d; %s", ErrNoRoom, shards[i].Bytes, i+1, len(shards), describe(cands, free))
	}
	return best, nil
}
