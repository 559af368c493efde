// Command bench is `make bench`: it measures pincluster through its REST API and prints each
// figure beside a baseline measured in the same run, so the table says how close the product
// gets to what this machine can do. It runs bin/pincluster (build it first: `make build`) in
// temp dirs on loopback. Three suites, chosen with -suite (default all, one combined table),
// and two with tables of their own: batch (bench/batch.go) and global (bench/global.go):
//
//   - single: one peer. pins/s accepted by POST /pins/{cid} (distinct CIDs, concurrent
//     clients, p50/p99 latency), pins/s streamed by GET /allocations over the whole pinset, the
//     daemon's RSS holding it; baseline raw Badger (the Store's tuning). Sizes: -n (1M pins),
//     -ingest (100k timed).
//
//   - cluster: three peers on loopback. pins/s accepted on peer 1 with batching on, p50/p99 time
//     from a POST's answer until the pin is in the pinset of the other two (1 pin in -sample
//     sampled), beside the same ingest on a lone peer and a no-op loopback HTTP handler; then the
//     pinset is filled to -catchup pins and a fresh fourth peer is timed until it lists them
//     all. Sizes: -cluster-pins (100k), -catchup (1M; 0 skips it).
//
//   - alloc: allocator decisions/s (allocator.Allocate, -alloc-peers 100 peers in 5 tag groups
//     with freespace, replication 3, -alloc-cids 100k distinct CIDs) beside copying the metrics
//     snapshot; and self-healing in a 5-peer cluster (ping 1s, metric TTL 3s) holding
//     -repin-pins (10k) random pins plus -repin-files (200) added files with replication 2: the
//     time from killing a peer until no pin lists it, and until its added files are pinned
//     elsewhere.
//
//     go build -o bin/pincluster ./cmd/pincluster && go run ./bench      # all suites, full sizes
//     go run ./bench -quick                                              # all suites, small sizes
//     go run ./bench -suite cluster -cluster-pins 50000 -catchup 200000 -keep
//     go run ./bench -suite batch -batch-pins 200000                     # batch ingest (own table)
//     go run ./bench -suite global -global-peers 20 -global-pins 20000   # global status (own table)
//
// With default sizes the whole run takes about 8-10 minutes on two busy cores (-quick: 2-3).
// Nothing here asserts on speed; the table marks each target as met or missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	suite   string        // single, cluster, alloc or all; batch or global (own tables)
	bin     string        // path to the pincluster binary
	total   int           // single: pins in the pinset at the end (listing and RSS figures)
	ingest  int           // single: pins in the timed ingest figure (the first ingest pins)
	clients int           // concurrent HTTP clients posting pins
	lists   int           // single: GET /allocations runs; the best is reported
	settle  time.Duration // single: wait after the last request before the RSS figure
	keep    bool          // keep the temp dirs (config, datastore, daemon logs)
	verbose bool          // progress lines on stderr
	cluster clusterOptions
	alloc   allocOptions
	repin   repinOptions
	// batchPins is the size of the batch of -suite batch (bench/batch.go).
	batchPins int
	global    globalOptions // -suite global (bench/global.go)
	// fillBatch posts the untimed fills (single: pins ingest..n; cluster: cluster-pins..catchup)
	// as one POST /pins/batch instead of single POSTs, for pinsets of 10M (make bench-10m).
	fillBatch bool
}

// defaultOptions are the full-size defaults of every suite.
func defaultOptions() options {
	return options{
		suite: "all", bin: "bin/pincluster", total: 1_000_000, ingest: 100_000, clients: 16, lists: 3, settle: settleWait,
		cluster:   clusterOptions{peers: 3, pins: 100_000, every: 100, pollers: 4, catchup: 1_000_000, wait: 5 * time.Minute},
		alloc:     allocOptions{peers: 100, groups: 5, cids: 100_000, repl: 3, rounds: 2},
		repin:     repinOptions{peers: 5, pins: 10_000, files: 200, repl: 2, wait: 3 * time.Minute},
		batchPins: 200_000,
		global:    globalOptions{peers: 20, pins: 20_000, rounds: 5, wait: 30 * time.Minute},
	}
}

// quickOptions shrink every suite for a run of a few minutes.
func quickOptions(o options) options {
	o.total, o.ingest = 50_000, 20_000
	o.cluster.pins, o.cluster.catchup = 20_000, 100_000
	o.repin.pins, o.repin.files = 2_000, 50
	o.batchPins = 50_000
	return o
}

func main() {
	o := defaultOptions()
	var quick bool
	flag.StringVar(&o.suite, "suite", o.suite, "single, cluster, alloc or all (one combined table); batch: batch ingest beside single POSTs; global: global status against status --local on -global-peers daemons (their own tables)")
	flag.StringVar(&o.bin, "bin", o.bin, "pincluster binary to run (build it with `make build`)")
	flag.IntVar(&o.total, "n", o.total, "single: total pins in the pinset (listing and RSS are measured at this size)")
	flag.IntVar(&o.ingest, "ingest", o.ingest, "single: pins in the timed ingest figure (the first pins posted)")
	flag.IntVar(&o.clients, "clients", o.clients, "concurrent HTTP clients posting pins")
	flag.IntVar(&o.lists, "lists", o.lists, "single: GET /allocations runs (the best is reported)")
	flag.DurationVar(&o.settle, "settle", o.settle, "single: wait after the last request before reading the daemon's RSS (its memory trim runs on a quiet 10 s tick)")
	flag.IntVar(&o.cluster.pins, "cluster-pins", o.cluster.pins, "cluster: pins posted on peer 1 with convergence sampling")
	flag.IntVar(&o.cluster.every, "sample", o.cluster.every, "cluster: sample 1 pin in this many for convergence")
	flag.IntVar(&o.cluster.catchup, "catchup", o.cluster.catchup, "cluster: pinset size a fresh peer catches up with (0 skips)")
	flag.DurationVar(&o.cluster.wait, "cluster-wait", o.cluster.wait, "cluster: bound on convergence, settling and catch-up waits")
	flag.IntVar(&o.alloc.peers, "alloc-peers", o.alloc.peers, "alloc: peers with metrics")
	flag.IntVar(&o.alloc.cids, "alloc-cids", o.alloc.cids, "alloc: distinct CIDs (one decision each)")
	flag.IntVar(&o.repin.pins, "repin-pins", o.repin.pins, "alloc: random pins held by the self-healing harness")
	flag.IntVar(&o.repin.files, "repin-files", o.repin.files, "alloc: added (fetchable) files held by the self-healing harness")
	flag.IntVar(&o.batchPins, "batch-pins", o.batchPins, "batch: pins in the one POST /pins/batch of -suite batch")
	flag.IntVar(&o.global.peers, "global-peers", o.global.peers, "global: peers on loopback")
	flag.IntVar(&o.global.pins, "global-pins", o.global.pins, "global: pins posted to peer 1, each pinned by every peer")
	flag.IntVar(&o.global.rounds, "global-rounds", o.global.rounds, "global: timed rounds of status --local and status")
	flag.DurationVar(&o.global.wait, "global-wait", o.global.wait, "global: bound on each convergence wait")
	flag.DurationVar(&o.global.hold, "global-hold", 0, "global: keep the cluster running this long after the rounds (to profile it: PINCLUSTER_PPROF=127.0.0.1:0)")
	flag.BoolVar(&o.fillBatch, "fill-batch", false, "post the fills beyond the timed ingest (single: -ingest..-n; cluster: -cluster-pins..-catchup) as one POST /pins/batch")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dirs (config, datastore, daemon logs)")
	flag.BoolVar(&quick, "quick", false, "small sizes: -n 50000 -ingest 20000 -cluster-pins 20000 -catchup 100000 -repin-pins 2000 -repin-files 50")
	flag.Parse()
	if quick {
		q := quickOptions(o)
		// Explicit size flags win over -quick.
		flag.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "n":
				q.total = o.total
			case "ingest":
				q.ingest = o.ingest
			case "cluster-pins":
				q.cluster.pins = o.cluster.pins
			case "catchup":
				q.cluster.catchup = o.cluster.catchup
			case "repin-pins":
				q.repin.pins = o.repin.pins
			case "repin-files":
				q.repin.files = o.repin.files
			case "batch-pins":
				q.batchPins = o.batchPins
			}
		})
		o = q
	}
	o.verbose = true
	ctx0, stop0 := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	switch o.suite { // the suites with tables of their own
	case "batch": // batch ingest beside single POSTs and raw Badger
		ownTable(ctx0, stop0, o, runBatchSuite, printBatch)
		return
	case "global": // global status against status --local
		ownTable(ctx0, stop0, o, runGlobalSuite, printGlobal)
		return
	}
	stop0()
	if _, _, _, err := suiteSet(o.suite); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.suite == "single" {
		res, err := run(ctx, o, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		printTable(os.Stdout, o, res)
		return
	}
	res, err := runSuites(ctx, o, os.Stderr)
	printAll(os.Stdout, o, res)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// ownTable runs a suite with a table of its own and prints it, or exits 1 on its error; stop
// ends ctx's signal handling once the suite is done.
func ownTable[R any](ctx context.Context, stop func(), o options, run func(context.Context, options, io.Writer) (R, error), print func(io.Writer, options, R)) {
	res, err := run(ctx, o, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	print(os.Stdout, o, res)
}
