package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/poll"
)

// observation is one look at every peer: its pinset and the peers it sees.
type observation struct {
	pinsets map[int]map[string]bool
	sees    map[int]map[string]bool // peer -> IDs of members that answered
	errs    []string                // listings that failed
}

// observe lists every peer's pinset (GET /allocations) and membership (GET /peers), in
// parallel, each bounded by opTimeout.
func (c *cluster) observe(ctx context.Context) observation {
	o := observation{pinsets: map[int]map[string]bool{}, sees: map[int]map[string]bool{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pins, sees := map[string]bool{}, map[string]bool{}
			perr := n.api.Allocations(ctx, "", func(p api.Pin) error { pins[p.Cid.String()] = true; return nil })
			serr := n.api.Peers(ctx, func(id api.ID) error {
				if id.Error == "" {
					sees[id.ID.String()] = true
				}
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			if perr != nil {
				o.errs = append(o.errs, fmt.Sprintf("%s GET /allocations: %v", n.name(), perr))
			} else {
				o.pinsets[n.i] = pins
			}
			if serr != nil {
				o.errs = append(o.errs, fmt.Sprintf("%s GET /peers: %v", n.name(), serr))
			} else {
				o.sees[n.i] = sees
			}
		}()
	}
	wg.Wait()
	sort.Strings(o.errs)
	return o
}

// isolated lists the peers that do not see every other peer (or could not be asked).
func (c *cluster) isolated(o observation) []string {
	var out []string
	for _, n := range c.nodes {
		var missing []string
		for _, m := range c.nodes {
			if !o.sees[n.i][m.id] {
				missing = append(missing, m.name())
			}
		}
		if len(missing) > 0 {
			out = append(out, fmt.Sprintf("%s does not see %s", n.name(), strings.Join(missing, ",")))
		}
	}
	return out
}

// convergence is the outcome of waiting for the healed cluster to agree.
type convergence struct {
	converged bool
	after     time.Duration // from the heal to the first observation that passed
	verdict   Verdict
	isolated  []string
	errs      []string
}

// awaitConvergence observes the cluster every second until every pinset holds exactly what
// the op log requires and every peer sees every other, or until timeout; the last
// observation is the verdict.
func (c *cluster) awaitConvergence(ctx context.Context, exp map[string]Expect, healed time.Time, timeout time.Duration) convergence {
	var res convergence
	poll.Until(timeout, time.Second, func() bool {
		if ctx.Err() != nil {
			return true
		}
		o := c.observe(ctx)
		res.verdict = Check(exp, o.pinsets, c.ids())
		res.isolated = c.isolated(o)
		res.errs = o.errs
		res.converged = res.verdict.OK() && len(res.isolated) == 0 && len(o.errs) == 0
		res.after = time.Since(healed)
		return res.converged
	})
	return res
}

// settled is what the pinning stage shows once the pinsets agree.
type settled struct {
	after    time.Duration
	inFlight map[string]int // peer: status -> CIDs still queued, pinning or unpinning
	other    map[string]int // peer: status -> CIDs in error or unexpectedly unpinned
	pinned   map[string]int // peer -> CIDs pinned there
	stuck    []string       // "p2 QmX pinning (attempts 3)" for what stayed in flight
	errs     []string
}

// awaitSettled waits until no peer has a pin queued, pinning or unpinning: with the faults
// healed and content every node has (identity CIDs), every attempt ends within seconds, so
// what is still in flight at timeout has no attempt in progress and is stuck.
func (c *cluster) awaitSettled(ctx context.Context, timeout time.Duration) settled {
	start := time.Now()
	var res settled
	poll.Until(timeout, 2*time.Second, func() bool {
		res = settled{inFlight: map[string]int{}, other: map[string]int{}, pinned: map[string]int{}}
		for _, n := range c.nodes {
			err := n.api.StatusAll(ctx, "", true, nil, func(g api.GlobalPinInfo) error {
				for _, pi := range g.PeerMap {
					switch st := pi.Status; {
					case st == api.TrackerStatusPinned:
						res.pinned[n.name()]++
					case st == api.TrackerStatusRemote:
					case st&(api.TrackerStatusQueued|api.TrackerStatusPinning|api.TrackerStatusUnpinning) != 0:
						res.inFlight[n.name()+": "+st.String()]++
						if len(res.stuck) < 20 {
							res.stuck = append(res.stuck, fmt.Sprintf("%s %s %s (attempts %d, since %s)", n.name(), g.Cid, st, pi.AttemptCount, pi.TS.Format(time.TimeOnly)))
						}
					default:
						res.other[n.name()+": "+st.String()]++
					}
				}
				return nil
			})
			if err != nil {
				res.errs = append(res.errs, fmt.Sprintf("%s GET /pins?local=true: %v", n.name(), err))
			}
		}
		res.after = time.Since(start)
		return len(res.inFlight) == 0 && len(res.other) == 0 && len(res.errs) == 0
	})
	if len(res.inFlight) == 0 {
		res.stuck = nil
	}
	return res
}
