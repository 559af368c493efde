package main

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"
)

// convergence measures, for a sample of acknowledged pins, the time from the POST's answer on
// the ingest peer until GET /allocations/{cid} answers 200 on every other peer.
//
// Each watched peer has a few poller goroutines; each keeps its own list of pending samples
// and sweeps it (one GET per pending CID) until every CID is seen, so a sample's figure is
// late by at most one sweep (reported as the sweep time).
type convergence struct {
	hc      *http.Client
	bases   []string // watched peers
	pollers int      // per watched peer
	in      [][]chan *sample
	wg      sync.WaitGroup
	mu      sync.Mutex
	all     []*sample
	sweeps  []time.Duration // duration of each non-empty sweep
}

type sample struct {
	cid   string
	acked time.Time
	seen  []time.Time // per watched peer; zero until seen
}

func newConvergence(hc *http.Client, bases []string, pollers int) *convergence {
	cv := &convergence{hc: hc, bases: bases, pollers: pollers}
	for range bases {
		chans := make([]chan *sample, pollers)
		for j := range chans {
			chans[j] = make(chan *sample, 1<<16)
		}
		cv.in = append(cv.in, chans)
	}
	return cv
}

// start runs the pollers until ctx ends or, after finish, every sample is seen.
func (cv *convergence) start(ctx context.Context) {
	for p := range cv.bases {
		for j := range cv.pollers {
			cv.wg.Add(1)
			go func() {
				defer cv.wg.Done()
				cv.poll(ctx, p, cv.in[p][j])
			}()
		}
	}
}

// add registers an acknowledged pin (called from the ingest clients).
func (cv *convergence) add(cid string, acked time.Time) {
	s := &sample{cid: cid, acked: acked, seen: make([]time.Time, len(cv.bases))}
	cv.mu.Lock()
	n := len(cv.all)
	cv.all = append(cv.all, s)
	cv.mu.Unlock()
	for p := range cv.bases {
		cv.in[p][n%cv.pollers] <- s
	}
}

// finish closes the intake and waits for the pollers (bounded by the ctx given to start).
func (cv *convergence) finish() {
	for _, chans := range cv.in {
		for _, ch := range chans {
			close(ch)
		}
	}
	cv.wg.Wait()
}

func (cv *convergence) poll(ctx context.Context, p int, in <-chan *sample) {
	var pending []*sample
	open := true
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for ctx.Err() == nil {
		// Take what arrived; block only when there is nothing to sweep.
		for drained := false; open && !drained; {
			if len(pending) == 0 {
				s, ok := <-in
				if !ok {
					open = false
					break
				}
				pending = append(pending, s)
				continue
			}
			select {
			case s, ok := <-in:
				if !ok {
					open = false
				} else {
					pending = append(pending, s)
				}
			default:
				drained = true
			}
		}
		if len(pending) == 0 {
			return
		}
		start := time.Now()
		kept := pending[:0]
		for _, s := range pending {
			code, err := status(ctx, cv.hc, cv.bases[p]+"/allocations/"+s.cid)
			if err == nil && code == http.StatusOK {
				s.seen[p] = time.Now()
				continue
			}
			kept = append(kept, s)
		}
		pending = kept
		took := time.Since(start)
		cv.mu.Lock()
		cv.sweeps = append(cv.sweeps, took)
		cv.mu.Unlock()
		if len(pending) > 0 && took < 10*time.Millisecond {
			// Every pending CID was just asked for: pause a little before asking again.
			idle.Reset(10*time.Millisecond - took)
			select {
			case <-ctx.Done():
			case <-idle.C:
			}
		}
	}
}

// convergenceResult summarises the samples.
type convergenceResult struct {
	samples   int
	missing   int // samples not seen on every peer before the deadline
	p50, p99  time.Duration
	max       time.Duration
	sweepP50  time.Duration // typical sweep: the resolution of the figures
	lastSeen  time.Time     // when the last sample was seen everywhere
	lastAcked time.Time
}

func (cv *convergence) result() convergenceResult {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	r := convergenceResult{samples: len(cv.all)}
	var lat []time.Duration
	for _, s := range cv.all {
		var last time.Time
		for _, t := range s.seen {
			if t.IsZero() {
				last = time.Time{}
				break
			}
			if t.After(last) {
				last = t
			}
		}
		if s.acked.After(r.lastAcked) {
			r.lastAcked = s.acked
		}
		if last.IsZero() {
			r.missing++
			continue
		}
		if last.After(r.lastSeen) {
			r.lastSeen = last
		}
		lat = append(lat, last.Sub(s.acked))
	}
	slices.Sort(lat)
	r.p50, r.p99 = quantile(lat, 0.5), quantile(lat, 0.99)
	if len(lat) > 0 {
		r.max = lat[len(lat)-1]
	}
	sw := slices.Clone(cv.sweeps)
	slices.Sort(sw)
	r.sweepP50 = quantile(sw, 0.5)
	return r
}
