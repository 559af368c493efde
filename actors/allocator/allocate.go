package allocator

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// Allocate returns the allocations for a pin. It is pure and deterministic: the same inputs give
// the same peers in the same order.
//
// Inputs:
//   - min, max: replication factors, valid under api.CheckReplication (else an error wrapping
//     api.ErrInvalid). -1 means every candidate: all candidates are returned sorted by peer
//     ID. A min of 0 allows an empty result.
//   - current: the allocations the pin already has (nil for a new pin).
//   - user: user-set allocations, preferred while they are candidates, ignored otherwise.
//   - candidates: valid metrics by peer (monitor.LatestAll). A peer is a candidate when it has
//     a metric with Valid set for every non-tag name of cfg.AllocateBy; a missing (or invalid)
//     "tag:NAME" metric counts as the empty tag value "" and does not exclude the peer.
//   - local: a peer to include whenever it is a candidate (add --local), or "".
//
// Rules, in order:
//  1. Existing allocations are not changed while at least min of them are candidates: they are
//     returned as they are, unavailable ones included (a peer down for a moment keeps its
//     content), trimmed to the first max (candidates first) when max was lowered, and
//     completed with new peers up to max when they are fewer than max (max was raised, or
//     fewer peers were available before). Automatic repinning should therefore only call
//     Allocate for pins where UnderReplicated is true, so pins between the thresholds stay.
//  2. When fewer than min existing allocations are candidates, the ones that are candidates
//     are kept, the others dropped, and new peers are added up to max.
//  3. New peers are taken in this order: local, user allocations (in the given order), then
//     the remaining candidates ranked by cfg.AllocateBy (see rank.go), spreading across tag
//     buckets while accounting for the peers already chosen.
//  4. local is always included when it is a candidate, replacing the last (preferably
//     unavailable) kept allocation when the list is full.
//  5. Fewer than min peers in the result is an error wrapping api.ErrUnavailable.
func Allocate(cfg Config, c api.Cid, min, max int, current, user []peer.ID, candidates map[peer.ID]map[string]api.Metric, local peer.ID) ([]peer.ID, error) {
	if err := checkFactors(min, max); err != nil {
		return nil, err
	}
	return NewRanking(cfg, candidates).Allocate(c, min, max, current, user, local)
}

// Ranking is the candidate pool of one metrics snapshot, prepared once for many decisions
// (bulk pinning): NewRanking(cfg, m).Allocate(...) equals Allocate(cfg, ..., m, ...). It only
// reads candidates, which must not change while the Ranking is in use. Safe for concurrent use.
type Ranking struct {
	pool *pool
	once sync.Once
	sk   *skeleton
}

func (r *Ranking) skeleton() *skeleton {
	r.once.Do(func() { r.sk = newSkeleton(r.pool) })
	return r.sk
}

// NewRanking prepares the candidates of a metrics snapshot (see Allocate).
func NewRanking(cfg Config, candidates map[peer.ID]map[string]api.Metric) *Ranking {
	by := cfg.AllocateBy
	if len(by) == 0 {
		by = Default().AllocateBy
	}
	return &Ranking{pool: newPool(by, candidates)}
}

// Allocate is the package function Allocate on the prepared candidates.
func (r *Ranking) Allocate(c api.Cid, min, max int, current, user []peer.ID, local peer.ID) ([]peer.ID, error) {
	if err := checkFactors(min, max); err != nil {
		return nil, err
	}
	pl := r.pool

	if min == -1 || max == -1 {
		all := pl.ids()
		slices.Sort(all)
		if min > len(all) {
			return nil, notEnough(c, min, len(all))
		}
		return all, nil
	}

	cur := dedupe(current)
	var live, dead []peer.ID
	for _, p := range cur {
		if pl.has(p) {
			live = append(live, p)
		} else {
			dead = append(dead, p)
		}
	}

	var chosen []peer.ID
	switch {
	case len(cur) > 0 && len(live) >= min && len(cur) <= max:
		chosen = slices.Clone(cur)
	case len(cur) > 0 && len(live) >= min:
		chosen = append(slices.Clone(live), dead...)[:max]
	default:
		chosen = slices.Clone(live[:minInt(len(live), max)])
	}

	if local != "" && max > 0 && pl.has(local) && !slices.Contains(chosen, local) {
		if len(chosen) >= max {
			chosen = dropOne(chosen, pl)
		}
		chosen = append(chosen, local)
	}

	if len(chosen) < max {
		chosen = fill(pl, r.skeleton, c, chosen, user, max)
	}
	if len(chosen) < min {
		return nil, notEnough(c, min, len(pl.cands))
	}
	return chosen, nil
}

// fill appends user allocations, then ranked candidates, to chosen until it holds max peers.
func fill(pl *pool, sk func() *skeleton, c api.Cid, chosen, user []peer.ID, max int) []peer.ID {
	for _, p := range dedupe(user) {
		if len(chosen) >= max {
			return chosen
		}
		if pl.has(p) && !slices.Contains(chosen, p) {
			chosen = append(chosen, p)
		}
	}
	if len(chosen) >= max {
		return chosen
	}
	t := newTree(pl, sk(), c)
	for _, p := range chosen {
		t.mark(p)
	}
	for len(chosen) < max {
		p, ok := t.pick()
		if !ok {
			break
		}
		chosen = append(chosen, p)
	}
	return chosen
}

// dropOne removes the last allocation that is not a candidate, or else the last one.
func dropOne(ps []peer.ID, pl *pool) []peer.ID {
	i := len(ps) - 1
	for j := len(ps) - 1; j >= 0; j-- {
		if !pl.has(ps[j]) {
			i = j
			break
		}
	}
	return slices.Delete(ps, i, i+1)
}

// checkFactors applies the cluster's one rule on replication factors (api.CheckReplication),
// so the allocator refuses exactly what the API refuses, in the same words.
func checkFactors(min, max int) error {
	return api.PinOptions{ReplicationFactorMin: min, ReplicationFactorMax: max}.Validate()
}

func notEnough(c api.Cid, min, n int) error {
	return fmt.Errorf("%w: not enough peers to allocate %s: need at least %d (replication_factor_min), %d available", api.ErrUnavailable, cidString(c), min, n)
}

func cidString(c api.Cid) string {
	if !c.Defined() {
		return "<undefined CID>"
	}
	return c.String()
}

func dedupe(ps []peer.ID) []peer.ID {
	if len(ps) == 0 {
		return nil
	}
	out := make([]peer.ID, 0, len(ps))
	for _, p := range ps {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
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
