// Command bench is `make bench`: it measures one pincluster peer through its REST API and prints
// each figure beside a baseline measured in the same run (raw Badger, opened with the Store's
// tuning), so the table says how close the product gets to its storage engine on this machine.
//
// Figures: pins/s accepted by POST /pins/{cid} (distinct CIDs, concurrent clients, with p50/p99
// latency), pins/s streamed by GET /allocations over the whole pinset, and the daemon's RSS
// holding it. It runs bin/pincluster (build it first: `make build`) in a temp dir on loopback.
//
//	go build -o bin/pincluster ./cmd/pincluster && go run ./bench            # 1M pins
//	go run ./bench -quick                                                    # 50k pins
//	go run ./bench -n 200000 -ingest 50000 -clients 32 -keep
//
// Nothing here asserts on speed; the table marks each target as met or missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// options are the command's flags.
type options struct {
	bin     string // path to the pincluster binary
	total   int    // pins in the pinset at the end (listing and RSS figures)
	ingest  int    // pins in the timed ingest figure (the first ingest pins)
	clients int    // concurrent HTTP clients posting pins
	lists   int    // GET /allocations runs; the best is reported
	keep    bool   // keep the temp dir (config, datastore, daemon log)
	verbose bool   // progress lines on stderr
}

func main() {
	var o options
	var quick bool
	flag.StringVar(&o.bin, "bin", "bin/pincluster", "pincluster binary to run (build it with `make build`)")
	flag.IntVar(&o.total, "n", 1_000_000, "total pins in the pinset (listing and RSS are measured at this size)")
	flag.IntVar(&o.ingest, "ingest", 100_000, "pins in the timed ingest figure (the first pins posted)")
	flag.IntVar(&o.clients, "clients", 16, "concurrent HTTP clients posting pins")
	flag.IntVar(&o.lists, "lists", 3, "GET /allocations runs (the best is reported)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (config, datastore, daemon log)")
	flag.BoolVar(&quick, "quick", false, "small run: -n 50000 -ingest 20000")
	flag.Parse()
	o.verbose = true
	if quick {
		o.total, o.ingest = 50_000, 20_000
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	printTable(os.Stdout, o, res)
}
