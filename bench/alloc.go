package main

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"strconv"
	"time"

	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
	"github.com/pincluster/pincluster/actors/allocator"
	"github.com/pincluster/pincluster/api"
)

// allocOptions size the allocation-decision figure.
type allocOptions struct {
	peers  int // peers with metrics (100)
	groups int // tag:group values (5)
	cids   int // distinct CIDs, one decision each (100k)
	repl   int // replication factor (min = max)
	rounds int // timed passes over the CIDs; the best is reported
}

// decisionResults are decisions/s for one pass over the CIDs, best of the rounds.
type decisionResults struct {
	fresh    float64 // allocator.Allocate per CID: candidates prepared per decision, as a REST pin does
	snapshot float64 // one allocator.Ranking reused, as the actor does while the map is unchanged
	copyOnly float64 // baseline: only copying the metrics snapshot (what Monitor.LatestAll hands over)
	spread   bool    // every decision picked peers from distinct groups
}

// benchMetrics builds the metrics of n peers: freespace (distinct weights), pinqueue 0, and
// tag:group over groups values, like actors/allocator's tests.
func benchMetrics(n, groups int) map[peer.ID]map[string]api.Metric {
	out := make(map[peer.ID]map[string]api.Metric, n)
	for i := range n {
		id := peer.ID(fmt.Sprintf("peer%04d", i))
		free := int64(1_000_000 + (i*7919)%100_003)
		out[id] = map[string]api.Metric{
			"freespace": {Name: "freespace", Peer: id, Value: strconv.FormatInt(free, 10), Weight: free, Valid: true},
			"pinqueue":  {Name: "pinqueue", Peer: id, Value: "0", Weight: 0, Valid: true},
			allocator.TagPrefix + "group": {Name: allocator.TagPrefix + "group", Peer: id, Value: fmt.Sprintf("g%d", i%groups),
				Valid: true, Partitionable: true},
		}
	}
	return out
}

func benchCids(n int) []api.Cid {
	out := make([]api.Cid, n)
	for i := range out {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		m, err := mh.Encode(sum[:], mh.SHA2_256)
		if err != nil {
			panic(err)
		}
		out[i] = api.NewCid(gocid.NewCidV1(gocid.Raw, m))
	}
	return out
}

// runDecisions times allocator decisions for distinct CIDs over one metrics snapshot.
func runDecisions(ao allocOptions) (decisionResults, error) {
	var r decisionResults
	cands := benchMetrics(ao.peers, ao.groups)
	cids := benchCids(ao.cids)
	cfg := allocator.Config{AllocateBy: []string{"tag:group", "freespace"}}
	group := func(p peer.ID) string { return cands[p][allocator.TagPrefix+"group"].Value }
	r.spread = true
	best := func(pass func() error) (float64, error) {
		var top float64
		for range ao.rounds {
			start := time.Now()
			if err := pass(); err != nil {
				return 0, err
			}
			top = max(top, float64(len(cids))/time.Since(start).Seconds())
		}
		return top, nil
	}
	check := func(c api.Cid, ps []peer.ID, err error) error {
		if err != nil {
			return fmt.Errorf("allocating %s: %w", c, err)
		}
		if len(ps) != ao.repl {
			return fmt.Errorf("allocating %s: got %d peers, want %d", c, len(ps), ao.repl)
		}
		if ao.repl <= ao.groups {
			seen := map[string]bool{}
			for _, p := range ps {
				if seen[group(p)] {
					r.spread = false
				}
				seen[group(p)] = true
			}
		}
		return nil
	}
	var err error
	if r.fresh, err = best(func() error {
		for _, c := range cids {
			ps, err := allocator.Allocate(cfg, c, ao.repl, ao.repl, nil, nil, cands, "")
			if err := check(c, ps, err); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return r, err
	}
	if r.snapshot, err = best(func() error {
		rk := allocator.NewRanking(cfg, cands)
		for _, c := range cids {
			ps, err := rk.Allocate(c, ao.repl, ao.repl, nil, nil, "")
			if err := check(c, ps, err); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return r, err
	}
	var sink int
	r.copyOnly, _ = best(func() error {
		for range cids {
			cp := make(map[peer.ID]map[string]api.Metric, len(cands))
			for id, ms := range cands {
				cp[id] = maps.Clone(ms)
			}
			sink += len(cp)
		}
		return nil
	})
	_ = sink
	return r, nil
}
