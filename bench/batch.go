package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/persistence"
)

// Target of the batch figure (issue 9): one peer ingests a batch at least this fast, and at
// least batchTargetRatio times its single-POST rate in the same run.
const (
	batchTargetRate  = 100_000
	batchTargetRatio = 10
	// Into peer 1 of 3: at least this many pins/s end to end, and every peer holds every pin
	// within batchTargetConverge of the last line.
	batchTargetCluster  = 40_000
	batchTargetConverge = 5 * time.Second
)

// batchResults are the figures of the batch suite (-suite batch), all from one run: single
// POSTs, then one POST /pins/batch on the same daemon, then raw Badger with the daemon stopped.
type batchResults struct {
	single     ingestResult
	batch      ingestResult
	avgPinJSON int
	rawWrite   float64
	cluster    ingestResult  // the same batch size into peer 1 of 3
	converge   time.Duration // from the batch's last event until peers 2 and 3 hold every pin
	loadStart  string
	elapsed    time.Duration
}

// runBatchSuite measures batch ingest beside single POSTs and raw Badger writes.
func runBatchSuite(ctx context.Context, o options, progress io.Writer) (res batchResults, err error) {
	if o.batchPins < 1 || o.ingest < 1 || o.clients < 1 {
		return res, fmt.Errorf("-batch-pins, -ingest and -clients must be at least 1")
	}
	if _, err := os.Stat(o.bin); err != nil {
		return res, fmt.Errorf("pincluster binary %s not found: run `make build`, or pass -bin PATH", o.bin)
	}
	logf := progressf(progress)
	res.loadStart = loadAvg()
	start := time.Now()
	defer func() { res.elapsed = time.Since(start) }()
	tmp, err := os.MkdirTemp("", "pincluster-bench-batch-")
	if err != nil {
		return res, err
	}
	defer func() { cleanupDir(o.keep || err != nil, tmp, logf) }()
	peerDir, rawDir := filepath.Join(tmp, "peer"), filepath.Join(tmp, "raw")
	if err := initConfig(ctx, o.bin, peerDir); err != nil {
		return res, err
	}
	d, err := startDaemon(ctx, o.bin, peerDir, 60*time.Second)
	if err != nil {
		return res, err
	}
	defer func() {
		if d != nil {
			_ = d.stop(30 * time.Second)
		}
	}()
	hc := newHTTPClient()
	hc.Timeout = 0 // the batch is one long request
	gen := newCIDGen()
	logf("batch suite: single POSTs: %d pins, %d clients", o.ingest, o.clients)
	if res.single, err = ingest(ctx, hc, d.base, gen, 0, o.ingest, o.clients, progress); err != nil {
		return res, withLog(err, d)
	}
	logf("batch suite: POST /pins/batch: %d pins", o.batchPins)
	if res.batch, err = postBatch(ctx, hc, d.base, gen, o.ingest, o.ingest+o.batchPins); err != nil {
		return res, withLog(err, d)
	}
	if b, err := get(ctx, hc, d.base+"/allocations/"+gen.at(o.ingest)); err == nil {
		res.avgPinJSON = len(b)
	}
	serr := d.stop(30 * time.Second)
	d = nil
	if serr != nil {
		return res, fmt.Errorf("stopping the daemon: %w", serr)
	}
	logf("raw badger baseline: %d items of %d bytes", o.batchPins, res.avgPinJSON)
	if res.rawWrite, _, err = persistence.RawBadgerRates(rawDir, o.batchPins, max(res.avgPinJSON, 1)); err != nil {
		return res, fmt.Errorf("raw badger baseline: %w", err)
	}
	if res.cluster, res.converge, err = batchIntoCluster(ctx, o, filepath.Join(tmp, "cluster"), logf); err != nil {
		return res, err
	}
	return res, nil
}

// batchIntoCluster starts three peers, streams o.batchPins fresh CIDs to peer 1's POST
// /pins/batch and times the batch, then how long after its last event peers 2 and 3 list
// every pin.
func batchIntoCluster(ctx context.Context, o options, dir string, logf func(string, ...any)) (res ingestResult, conv time.Duration, err error) {
	cl := newCluster(o.bin, dir, nil)
	defer func() {
		if serr := cl.stop(); serr != nil && err == nil {
			err = fmt.Errorf("stopping the cluster: %w", serr)
		}
	}()
	logf("batch suite: 3 peers, POST /pins/batch of %d pins into peer 1", o.batchPins)
	if err := cl.start(ctx, 3); err != nil {
		return res, 0, cl.withLogs(err)
	}
	hc := newHTTPClient()
	hc.Timeout = 0
	gen := newCIDGen()
	if res, err = postBatch(ctx, hc, cl.peers[0].base, gen, 0, o.batchPins); err != nil {
		return res, 0, cl.withLogs(err)
	}
	done := time.Now()
	at, err := waitHeld(ctx, newHTTPClient(), cl.otherBases(), gen, o.batchPins, 2*time.Minute)
	if err != nil {
		return res, 0, cl.withLogs(fmt.Errorf("after the batch into peer 1: %w", err))
	}
	return res, at.Sub(done), nil
}

// fill posts CIDs [from, to): single POSTs from o.clients clients, or one batch with -fill-batch.
func fill(ctx context.Context, o options, hc *http.Client, base string, gen cidGen, from, to int, progress io.Writer) (ingestResult, error) {
	if o.fillBatch {
		return postBatch(ctx, hc, base, gen, from, to)
	}
	return ingest(ctx, hc, base, gen, from, to, o.clients, progress)
}

// postBatch streams CIDs [from, to) to POST /pins/batch and times it until the last event.
func postBatch(ctx context.Context, hc *http.Client, base string, gen cidGen, from, to int) (ingestResult, error) {
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 256<<10)
		for i := from; i < to; i++ {
			bw.WriteString(gen.at(i))
			if err := bw.WriteByte('\n'); err != nil {
				return
			}
		}
		pw.CloseWithError(bw.Flush())
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/pins/batch", pr)
	if err != nil {
		return ingestResult{}, err
	}
	// One batch of millions of pins outlasts the shared client's per-request timeout; ctx
	// bounds it instead.
	long := *hc
	long.Timeout = 0
	start := time.Now()
	resp, err := long.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return ingestResult{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return ingestResult{}, fmt.Errorf("POST /pins/batch: %s: %s", resp.Status, b)
	}
	var last api.BatchEvent
	dec := json.NewDecoder(resp.Body)
	for {
		var ev api.BatchEvent
		if err := dec.Decode(&ev); err == io.EOF {
			break
		} else if err != nil {
			return ingestResult{}, fmt.Errorf("POST /pins/batch answer: %w", err)
		}
		if ev.Line > 0 {
			return ingestResult{}, fmt.Errorf("POST /pins/batch: line %d failed: %s", ev.Line, ev.Error)
		}
		last = ev
	}
	elapsed := time.Since(start)
	if tr := resp.Trailer.Get("X-Stream-Error"); tr != "" {
		return ingestResult{}, fmt.Errorf("POST /pins/batch: %s", tr)
	}
	if !last.Done || last.OK != to-from {
		return ingestResult{}, fmt.Errorf("POST /pins/batch acknowledged %d of %d pins", last.OK, to-from)
	}
	return ingestResult{pins: last.OK, elapsed: elapsed}, nil
}

// printBatch writes the batch suite's table.
func printBatch(w io.Writer, o options, r batchResults) {
	ratio := r.batch.rate() / r.single.rate()
	rows := [][]string{tableHeader,
		{fmt.Sprintf("batch POST /pins/batch (%s pins, one request)", count(r.batch.pins)), human(r.batch.rate()) + " pins/s",
			"raw badger write " + human(r.rawWrite) + "/s", pct(r.batch.rate() / r.rawWrite), ">= 100k pins/s", yes(r.batch.rate() >= batchTargetRate)},
		{fmt.Sprintf("  vs single POST /pins (%d clients, %s pins)", o.clients, count(r.single.pins)), fmt.Sprintf("%.1fx", ratio),
			"single " + human(r.single.rate()) + " pins/s", "-", ">= 10x", yes(ratio >= batchTargetRatio)},
		{"  pin JSON", fmt.Sprintf("%d B/pin", r.avgPinJSON), "raw value size", "-", "-", ""},
		{fmt.Sprintf("batch into peer 1 of 3 (%s pins)", count(r.cluster.pins)), human(r.cluster.rate()) + " pins/s",
			"one peer " + human(r.batch.rate()) + " pins/s", pct(r.cluster.rate() / r.batch.rate()), ">= 40k pins/s", yes(r.cluster.rate() >= batchTargetCluster)},
		{"  peers 2 and 3 hold every pin", fmt.Sprintf("%.1f s after", r.converge.Seconds()), "the batch's last event", "-", "<= 5 s",
			yes(r.converge <= batchTargetConverge)},
	}
	fmt.Fprintf(w, "\npincluster bench (-suite batch): one peer, %d CPUs, %s/%s, load average %s at start, took %s, %s\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, r.loadStart, r.elapsed.Round(time.Second), time.Now().Format(time.DateTime))
	writeAligned(w, rows)
	fmt.Fprintf(w, "\nnotes:\n  - the batch is %s fresh CIDs in one streamed request (4096-line group commits); the single-POST\n    figure is the same daemon a moment before; raw badger writes the same number of values of the\n    pin's size with the daemon stopped; the cluster figure is a fresh 3-peer cluster on loopback\n    (replication -1: every peer stores and tracks every pin) sharing this machine's CPUs; peers 2\n    and 3 hold every pin when 32 probe CIDs answer and their pin counter reads the total (polled\n    every 0.5 s, then confirmed by a full listing).\n",
		count(r.batch.pins))
	fmt.Fprintf(w, "\nreproduce: go build -o bin/pincluster ./cmd/pincluster && go run ./bench -suite batch -batch-pins %d -ingest %d -clients %d\n", o.batchPins, o.ingest, o.clients)
}
