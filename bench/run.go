package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pincluster/pincluster/persistence"
)

// readsQuietWait bounds the wait for a quiet daemon before the reads.
const readsQuietWait = 2 * time.Minute

// results are the figures of one run.
type results struct {
	ingestFirst ingestResult // the first o.ingest pins
	ingestRest  ingestResult // the rest, up to o.total (pins == 0 when none)
	list        listResult   // the best GET /allocations run
	listRuns    []listResult
	statusLocal listResult // the best GET /pins?local=true run (status --local)
	readsQuiet  quietWait  // from the end of the ingest until the daemon was quiet (waitQuiet)
	avgPinJSON  int        // bytes per pin in the listing (the baseline's value size)
	rss, hwm    int64      // daemon VmRSS settled (settleWait after the reads), and its peak
	rssAnon     int64      // the anonymous part of rss (heap, not mmapped files)
	rssIngest   int64      // daemon VmRSS right after ingest
	rssReads    int64      // daemon VmRSS right after the listing, status and lookup runs
	diskBytes   int64      // size of the daemon's config dir (datastore, ipfs repo)
	rawWrite    float64
	rawIterate  float64
	httpFloor   ingestResult // single POSTs to a handler that does nothing (httpFloor)
	lookup      lookupResult
	dir         string
	loadStart   string // 1-minute load average when the run started
}

// run does the whole measurement. Progress goes to progress (nil: silent).
func run(ctx context.Context, o options, progress io.Writer) (res results, err error) {
	if o.total < 1 || o.ingest < 1 || o.clients < 1 || o.lists < 1 {
		return res, errors.New("-n, -ingest, -clients and -lists must be at least 1")
	}
	o.ingest = min(o.ingest, o.total)
	if _, err := os.Stat(o.bin); err != nil {
		return res, fmt.Errorf("pincluster binary %s not found: run `make build` (or `go build -o bin/pincluster ./cmd/pincluster`) in the repository root, or pass -bin PATH", o.bin)
	}
	logf := func(format string, a ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", a...)
		}
	}
	tmp, err := os.MkdirTemp("", "pincluster-bench-")
	if err != nil {
		return res, err
	}
	res.dir = tmp
	res.loadStart = loadAvg()
	defer func() {
		if o.keep {
			logf("kept %s (peer config in peer/, daemon log in peer/daemon.log, raw badger in raw/)", tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	}()
	peerDir, rawDir := filepath.Join(tmp, "peer"), filepath.Join(tmp, "raw")
	if err := initConfig(ctx, o.bin, peerDir); err != nil {
		return res, err
	}
	d, err := startDaemon(ctx, o.bin, peerDir, 60*time.Second)
	if err != nil {
		return res, err
	}
	defer func() {
		if d == nil {
			return
		}
		if serr := d.stop(30 * time.Second); serr != nil && err == nil {
			err = fmt.Errorf("stopping the daemon: %w (log: %s)", serr, tail(d.log.Name(), 20))
		}
	}()
	logf("daemon pid %d, API %s, dir %s", d.pid(), d.base, peerDir)

	hc := newHTTPClient()
	gen := newCIDGen()
	logf("ingest: %d pins, %d clients", o.ingest, o.clients)
	if res.ingestFirst, err = ingest(ctx, hc, d.base, gen, 0, o.ingest, o.clients, progress); err != nil {
		return res, withLog(err, d)
	}
	if o.total > o.ingest {
		logf("ingest: pins %d..%d", o.ingest, o.total)
		if res.ingestRest, err = fill(ctx, o, hc, d.base, gen, o.ingest, o.total, progress); err != nil {
			return res, withLog(err, d)
		}
	}
	if res.rssIngest, _, _, err = memStatus(d.pid()); err != nil {
		return res, err
	}
	// Reads are timed on a daemon holding its pins, not on one still compacting what the ingest
	// wrote: the raw Badger baseline they are compared with runs on a quiet machine too.
	logf("waiting (at most %s) until the daemon is quiet", readsQuietWait)
	res.readsQuiet = waitQuiet(ctx, []int{d.pid()}, readsQuietWait)
	if res.list, res.listRuns, err = bestStream(ctx, hc, d.base, "/allocations", "list", o.lists, o.total, logf); err != nil {
		return res, withLog(err, d)
	}
	if res.statusLocal, _, err = bestStream(ctx, hc, d.base, "/pins?local=true", "status --local", o.lists, o.total, logf); err != nil {
		return res, withLog(err, d)
	}
	res.avgPinJSON = int(res.list.bytes / int64(res.list.pins))
	logf("lookups by name among %d pins", o.total)
	if res.lookup, err = measureLookups(ctx, hc, d.base, gen, o.total); err != nil {
		return res, withLog(err, d)
	}
	if res.rssReads, _, _, err = memStatus(d.pid()); err != nil {
		return res, err
	}
	// Holding the pins is the steady state: the daemon gives back what a burst of requests
	// took at its first quiet memory trim (actors/memtrim, every 10 s), so the RSS target is
	// read o.settle after the last request; the figure right after the reads is shown too.
	logf("waiting %s for the daemon to settle", o.settle)
	select {
	case <-time.After(o.settle):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	if res.rss, res.hwm, res.rssAnon, err = memStatus(d.pid()); err != nil {
		return res, err
	}
	res.diskBytes = dirSize(peerDir)
	serr := d.stop(30 * time.Second)
	logName := d.log.Name()
	d = nil
	if serr != nil {
		return res, fmt.Errorf("stopping the daemon: %w (log: %s)", serr, tail(logName, 20))
	}
	// The baseline runs with the daemon stopped so the two do not share the CPU.
	logf("raw badger baseline: %d items of %d bytes", o.total, res.avgPinJSON)
	if res.rawWrite, res.rawIterate, err = persistence.RawBadgerRates(rawDir, o.total, res.avgPinJSON); err != nil {
		return res, fmt.Errorf("raw badger baseline: %w", err)
	}
	logf("HTTP floor: %d single POSTs to a handler that only answers, %d clients", o.ingest, o.clients)
	if res.httpFloor, err = httpFloor(ctx, o.ingest, o.clients); err != nil {
		return res, fmt.Errorf("HTTP floor: %w", err)
	}
	return res, nil
}

// settleWait is how long the RSS figure waits after the last request by default (-settle):
// two memory-trim ticks and a margin.
const settleWait = 25 * time.Second

func withLog(err error, d *daemon) error {
	return fmt.Errorf("%w\ndaemon log (%s):%s", err, d.log.Name(), tail(d.log.Name(), 15))
}

// bestStream streams GET path runs times (streamCount), checking each answer holds total
// items, and returns the fastest run and all of them.
func bestStream(ctx context.Context, hc *http.Client, base, path, what string, runs, total int, logf func(string, ...any)) (listResult, []listResult, error) {
	var best listResult
	var all []listResult
	for i := range runs {
		r, err := streamCount(ctx, hc, base, path)
		if err != nil {
			return best, all, err
		}
		logf("%s run %d: %d pins in %s (%s pins/s)", what, i+1, r.pins, r.elapsed.Round(time.Millisecond), human(r.rate()))
		if r.pins != total {
			return best, all, fmt.Errorf("GET %s returned %d pins, %d were posted", path, r.pins, total)
		}
		all = append(all, r)
		if best.pins == 0 || r.elapsed < best.elapsed {
			best = r
		}
	}
	return best, all, nil
}
