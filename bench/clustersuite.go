package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// clusterOptions size the cluster suite.
type clusterOptions struct {
	peers   int           // peers in the cluster (3)
	pins    int           // pins posted on peer 1 in the timed ingest with convergence sampling
	every   int           // one sampled pin in every (100)
	pollers int           // poller goroutines per watched peer
	catchup int           // pinset size when the fresh peer joins (0: no catch-up figure)
	wait    time.Duration // bound on waiting for convergence, settling and catch-up
}

// clusterResults are the cluster suite's figures.
type clusterResults struct {
	solo       ingestResult // the same ingest on a lone peer (baseline)
	soloReused bool         // solo is the single suite's figure from this run
	rawHTTP    float64      // POSTs/s to an in-process no-op HTTP handler (loopback ceiling)
	ingest     ingestResult // on peer 1 of the cluster
	conv       convergenceResult
	fill       ingestResult  // pins..catchup posted on peer 1 (no sampling)
	settled    time.Duration // after the fill, until the other peers hold every pin
	quiet      quietWait     // after settled, until the peers' CPU use is low (waitQuiet)
	catchup    catchupResult
}

type catchupResult struct {
	pins    int           // pinset size to catch up with
	ready   time.Duration // from starting the fresh peer until its API answered
	elapsed time.Duration // from starting it until it listed every pin
	reached int           // pins it listed at the end (== pins when done)
	done    bool
	cpu     []time.Duration // CPU time each peer used during the catch-up (the fresh one last)
	rss     int64           // the fresh peer's RSS at the end
}

func (c catchupResult) rate() float64 { return float64(c.reached) / c.elapsed.Seconds() }

// runCluster measures a loopback cluster. solo, when not nil, is a same-size single-peer
// ingest already measured in this run and is reused as the baseline.
func runCluster(ctx context.Context, o options, co clusterOptions, solo *ingestResult, progress io.Writer) (res clusterResults, err error) {
	logf := progressf(progress)
	tmp, err := os.MkdirTemp("", "pincluster-bench-cluster-")
	if err != nil {
		return res, err
	}
	defer func() { cleanupDir(o.keep || err != nil, tmp, logf) }()
	hc := newHTTPClient()
	gen := newCIDGen()

	if solo != nil {
		res.solo, res.soloReused = *solo, true
	} else {
		logf("cluster baseline: %d pins on a lone peer", co.pins)
		dir := filepath.Join(tmp, "solo")
		if err := initConfig(ctx, o.bin, dir); err != nil {
			return res, err
		}
		d, err := startDaemon(ctx, o.bin, dir, 60*time.Second)
		if err != nil {
			return res, err
		}
		res.solo, err = ingest(ctx, hc, d.base, newCIDGen(), 0, co.pins, o.clients, progress)
		if serr := d.stop(30 * time.Second); err == nil && serr != nil {
			err = fmt.Errorf("stopping the lone peer: %w", serr)
		}
		if err != nil {
			return res, withLog(err, d)
		}
	}
	if res.rawHTTP, err = rawHTTPRate(ctx, o.clients, 2*time.Second); err != nil {
		return res, err
	}

	cl := newCluster(o.bin, filepath.Join(tmp, "cluster"), nil)
	defer func() {
		if serr := cl.stop(); serr != nil && err == nil {
			err = fmt.Errorf("stopping the cluster: %w", serr)
		}
	}()
	logf("cluster: starting %d peers in %s", co.peers, cl.dir)
	if err := cl.start(ctx, co.peers); err != nil {
		return res, cl.withLogs(err)
	}
	if err := cl.waitMetric(ctx, 0, "freespace", co.peers, 60*time.Second); err != nil {
		return res, cl.withLogs(err)
	}
	bases := cl.otherBases()

	// Ingest on peer 1 while pollers watch a sample of the pins reach the others.
	logf("cluster ingest: %d pins on peer 1, %d clients, 1 in %d sampled on %d peers", co.pins, o.clients, co.every, len(bases))
	cv := newConvergence(hc, bases, co.pollers)
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	cv.start(cctx)
	res.ingest, err = ingestWith(ctx, hc, cl.peers[0].base, gen, 0, co.pins, o.clients, progress, ingestHooks{
		acked: func(i int, c string, at time.Time) {
			if i%co.every == 0 {
				cv.add(c, at)
			}
		},
	})
	stopTimer := time.AfterFunc(co.wait, ccancel)
	cv.finish()
	stopTimer.Stop()
	if err != nil {
		return res, cl.withLogs(err)
	}
	res.conv = cv.result()
	logf("convergence: p50 %s p99 %s (%d samples, %d not seen)", res.conv.p50, res.conv.p99, res.conv.samples, res.conv.missing)

	if co.catchup <= 0 {
		return res, nil
	}
	if co.catchup > co.pins {
		logf("cluster fill: pins %d..%d on peer 1", co.pins, co.catchup)
		if res.fill, err = fill(ctx, o, hc, cl.peers[0].base, gen, co.pins, co.catchup, progress); err != nil {
			return res, cl.withLogs(err)
		}
	}
	fillEnd := time.Now()
	at, err := waitHeld(ctx, hc, bases, gen, co.catchup, co.wait)
	if err != nil {
		return res, cl.withLogs(fmt.Errorf("the other peers did not hold all %d pins: %w", co.catchup, err))
	}
	res.settled = at.Sub(fillEnd)
	logf("peers 2+3 hold every pin %s after the fill; waiting for the cluster to go quiet", res.settled.Round(time.Millisecond))
	// The fresh peer joins a cluster at rest, as it would in production: right after the fill
	// the others still compact and run their post-ingest passes, and on one machine that CPU
	// would be charged to the catch-up.
	var pids []int
	for _, p := range cl.peers {
		pids = append(pids, p.pid())
	}
	res.quiet = waitQuiet(ctx, pids, co.wait)
	logf("cluster quiet: %s; starting a fresh peer", res.quiet)

	res.catchup.pins = co.catchup
	var cpu0 []time.Duration
	for _, p := range cl.peers {
		cpu0 = append(cpu0, cpuTime(p.pid()))
	}
	start := time.Now()
	d, err := cl.addPeer(ctx)
	if err != nil {
		return res, cl.withLogs(err)
	}
	res.catchup.ready = time.Since(start)
	// CPU and RSS are read when the pin counter reaches the total, not after the listing
	// that confirms it (tens of seconds of the fresh peer's CPU at 10M).
	usage := func() {
		res.catchup.cpu = res.catchup.cpu[:0]
		for i, p := range cl.peers {
			c := cpuTime(p.pid())
			if i < len(cpu0) {
				c -= cpu0[i]
			}
			res.catchup.cpu = append(res.catchup.cpu, c)
		}
		res.catchup.rss, _, _, _ = memStatus(d.pid())
	}
	at, listed, err := waitCount(ctx, hc, d.base, gen, co.catchup, co.wait, usage)
	res.catchup.elapsed = time.Since(start)
	res.catchup.done = err == nil
	if err == nil {
		res.catchup.elapsed = at.Sub(start)
		res.catchup.reached = listed
	} else {
		usage()
		if lr, lerr := listAll(ctx, hc, d.base); lerr == nil {
			res.catchup.reached = lr.pins
		}
	}
	if err != nil {
		logf("fresh peer did not catch up: %v", err)
	}
	return res, nil
}

// waitQuiet waits, at most timeout, until the processes pids together use under a tenth of a
// core over 5 s; it says how long it waited and whether they went quiet.
func waitQuiet(ctx context.Context, pids []int, timeout time.Duration) quietWait {
	return waitQuietBelow(ctx, pids, timeout, 0.1)
}

// waitQuietBelow is waitQuiet with the bound in cores: an idle cluster of many peers still
// heartbeats (about 2% of a core per peer at 20 peers).
func waitQuietBelow(ctx context.Context, pids []int, timeout time.Duration, cores float64) quietWait {
	const window = 5 * time.Second
	start := time.Now()
	for time.Since(start) < timeout && ctx.Err() == nil {
		var before time.Duration
		for _, p := range pids {
			before += cpuTime(p)
		}
		select {
		case <-ctx.Done():
		case <-time.After(window):
		}
		var used time.Duration
		for _, p := range pids {
			used += cpuTime(p)
		}
		if used-before < time.Duration(cores*float64(window)) {
			return quietWait{waited: time.Since(start), quiet: true}
		}
	}
	return quietWait{waited: time.Since(start)}
}

// quietWait is how a waitQuiet ended: quiet after waited, or not quiet when it gave up.
type quietWait struct {
	waited time.Duration
	quiet  bool
}

func (q quietWait) String() string {
	if q.quiet {
		return dur(q.waited)
	}
	return "not quiet after " + dur(q.waited) + "; went on anyway"
}

// waitCount waits until the peer at base holds n pins and returns when it first did, with the
// count of the listing that confirmed it. It polls a few random CIDs of [0, n) and the store's
// pin counter (GET /pins/counts: no scan), and once both say every pin is there it checks with
// a full listing; the time returned is when the counter reached n, not when that listing
// ended. At 10M pins a listing takes tens of seconds of the peer's CPU: polling with listings
// would slow what it measures and read late by as much as one listing. onReached (may be nil)
// runs when the counter reads n, before the listing (again if the listing falls short).
func waitCount(ctx context.Context, hc *http.Client, base string, gen cidGen, n int, timeout time.Duration, onReached func()) (at time.Time, listed int, err error) {
	probes := make([]string, min(n, 32))
	for i := range probes {
		probes[i] = gen.at(rand.IntN(n))
	}
	probes[0] = gen.at(n - 1)
	err = waitFor(ctx, timeout, 500*time.Millisecond, func() (bool, string) {
		for _, c := range probes {
			code, err := status(ctx, hc, base+"/allocations/"+c)
			if err != nil || code != http.StatusOK {
				return false, fmt.Sprintf("probe CID %s not there yet", c)
			}
		}
		var counts struct {
			Pinset int `json:"pinset"`
		}
		if err := getJSON(ctx, hc, base+"/pins/counts", &counts); err != nil {
			return false, err.Error()
		}
		if counts.Pinset < n {
			return false, fmt.Sprintf("counts %d of %d pins", counts.Pinset, n)
		}
		reached := time.Now()
		if onReached != nil {
			onReached()
		}
		lr, err := listAll(ctx, hc, base)
		if err != nil {
			return false, err.Error()
		}
		if lr.pins < n {
			return false, fmt.Sprintf("counts %d pins but lists %d of %d", counts.Pinset, lr.pins, n)
		}
		at, listed = reached, lr.pins
		return true, ""
	})
	return at, listed, err
}

// waitHeld waits on the peers at bases at once (waitCount each) and returns when the last of
// them held all n pins: waited on in turn, a peer's figure would include the confirming
// listings of those before it.
func waitHeld(ctx context.Context, hc *http.Client, bases []string, gen cidGen, n int, timeout time.Duration) (time.Time, error) {
	type held struct {
		at  time.Time
		err error
	}
	done := make(chan held, len(bases))
	for _, base := range bases {
		go func() {
			at, _, err := waitCount(ctx, hc, base, gen, n, timeout, nil)
			if err != nil {
				err = fmt.Errorf("%s: %w", base, err)
			}
			done <- held{at, err}
		}()
	}
	var last time.Time
	var errs []error
	for range bases {
		h := <-done
		errs = append(errs, h.err)
		if h.at.After(last) {
			last = h.at
		}
	}
	return last, errors.Join(errs...)
}

// rawHTTPRate is the loopback ceiling: POSTs/s from the same client setup to an in-process
// handler that answers 200 with a small JSON body, for dur.
func rawHTTPRate(ctx context.Context, clients int, dur time.Duration) (float64, error) {
	body := []byte(`{"cid":"bafkreiexample","allocations":[]}`)
	srv, base, err := serveLoopback(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	hc := newHTTPClient()
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/pins/x?name=y", nil)
				resp, err := hc.Do(req)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

func progressf(w io.Writer) func(string, ...any) {
	return func(format string, a ...any) {
		if w != nil {
			fmt.Fprintf(w, format+"\n", a...)
		}
	}
}

// cleanupDir removes a run's temp dir unless it is to be kept (-keep, or the run failed: its
// daemon logs are the evidence).
func cleanupDir(keep bool, dir string, logf func(string, ...any)) {
	if keep {
		logf("kept %s", dir)
		return
	}
	_ = os.RemoveAll(dir)
}
