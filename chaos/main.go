package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

const (
	opTimeout    = 10 * time.Second // one REST request
	startTimeout = 60 * time.Second // a daemon's REST API answering after start
)

// options are the command-line flags.
type options struct {
	bin             string
	seed            uint64
	peers           int
	duration        time.Duration
	workers         int
	rate            float64
	convergeTimeout time.Duration
	settleTimeout   time.Duration
	dir             string
	keep            bool
	faults          string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/pincluster", "the pincluster binary to run")
	flag.Uint64Var(&o.seed, "seed", 0, "seed of the fault schedule and the load (0: from the clock; the run prints it)")
	flag.IntVar(&o.peers, "peers", 5, "number of peers (at least 3)")
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "how long load and faults run")
	flag.IntVar(&o.workers, "workers", 4, "concurrent requests at most")
	flag.Float64Var(&o.rate, "rate", 25, "ops per second at most")
	flag.DurationVar(&o.convergeTimeout, "converge-timeout", 120*time.Second, "how long the healed cluster has to converge")
	flag.DurationVar(&o.settleTimeout, "settle-timeout", 60*time.Second, "how long pins may stay in flight after convergence")
	flag.StringVar(&o.dir, "dir", "", "work dir (default: a new temp dir)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work dir even when the run passes")
	flag.StringVar(&o.faults, "faults", "all", "faults to inject: all, or a comma list of "+kindNames())
	flag.Parse()
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano()%1_000_000_000) + 1
	}
	switch {
	case o.peers < 3:
		fmt.Fprintln(os.Stderr, "chaos: -peers must be at least 3 (faults go to a minority)")
		os.Exit(2)
	case o.workers < 1 || o.rate <= 0:
		fmt.Fprintln(os.Stderr, "chaos: -workers must be at least 1 and -rate above 0")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
	}
	os.Exit(code)
}

// run is the whole experiment: start, load under faults, heal, check, report. It returns 0
// when the checks pass, 1 when they fail and 2 when the harness itself could not run.
func run(ctx context.Context, o options) (int, error) {
	kinds, err := parseKinds(o.faults)
	if err != nil {
		return 2, err
	}
	fmt.Printf("chaos: seed %d, %d peers, %s of load and faults (%s) (rerun: go run ./chaos -seed %d -peers %d -duration %s -faults %s)\n",
		o.seed, o.peers, o.duration, o.faults, o.seed, o.peers, o.duration, o.faults)
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return 2, err
	}
	if _, err := os.Stat(bin); err != nil {
		return 2, fmt.Errorf("%s: build it first (make build): %w", o.bin, err)
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "pincluster-chaos-"); err != nil {
			return 2, err
		}
	}
	fmt.Printf("chaos: work dir %s\n", dir)
	c, err := newCluster(ctx, bin, dir, o.peers)
	if err != nil {
		return 2, err
	}
	defer c.stopAll(30 * time.Second)
	if err := c.startAll(ctx); err != nil {
		return 2, err
	}
	ops, err := newOpLog(filepath.Join(dir, "ops.jsonl"))
	if err != nil {
		return 2, err
	}
	nem, err := newNemesis(c, o.seed, kinds, filepath.Join(dir, "faults.jsonl"))
	if err != nil {
		return 2, err
	}
	ld := newLoad(c, ops, o.seed, o.workers, o.rate)

	fmt.Println("chaos: load and faults running")
	runCtx, cancel := context.WithTimeout(ctx, o.duration)
	done := make(chan struct{})
	go func() { nem.run(runCtx); close(done) }()
	ld.run(runCtx)
	cancel()
	<-done // every fault healed by the nemesis itself
	if err := ops.close(); err != nil {
		return 2, err
	}
	if ctx.Err() != nil {
		return 2, ctx.Err()
	}

	fmt.Println("chaos: healing: faults cleared, paused peers resumed, dead peers restarted")
	rep := report{seed: o.seed, peers: o.peers, duration: o.duration, dir: dir}
	rep.heal = heal(ctx, c)
	healed := time.Now()
	exp := Expected(ops.snapshot())
	rep.ops = countOps(ops.snapshot())
	rep.faults, rep.faultErrs = nem.summary()
	rep.expect = tally(exp)
	fmt.Printf("chaos: healed; waiting up to %s for every pinset to match the op log and every peer to see every other\n", o.convergeTimeout)
	rep.conv = c.awaitConvergence(ctx, exp, healed, o.convergeTimeout)
	rep.settle = c.awaitSettled(ctx, o.settleTimeout)
	for _, n := range c.nodes {
		n.sampleRSS()
	}
	c.stopAll(30 * time.Second)
	for _, n := range c.nodes {
		rep.rss = append(rep.rss, rssOf{n.name(), n.hwm, n.starts})
		rep.crashes = append(rep.crashes, n.crashList()...)
	}
	rep.print(os.Stdout)
	if err := rep.save(filepath.Join(dir, "report.json")); err != nil {
		fmt.Fprintln(os.Stderr, "chaos: saving report.json:", err)
	}
	if !rep.pass() {
		fmt.Printf("chaos: FAIL (work dir kept: %s; daemon logs p*/daemon.log, ops.jsonl, faults.jsonl, report.json)\n", dir)
		return 1, nil
	}
	fmt.Println("chaos: PASS")
	if !o.keep && o.dir == "" {
		os.RemoveAll(dir)
	} else {
		fmt.Printf("chaos: work dir kept: %s\n", dir)
	}
	return 0, nil
}

// heal clears every fault and brings every peer up: fault files emptied and signalled,
// paused peers resumed, peers that are down (crashed, or a restart that failed) started with
// --bootstrap to a running peer. It returns what could not be healed.
func heal(ctx context.Context, c *cluster) []string {
	var errs []string
	if err := c.healAll(); err != nil {
		errs = append(errs, err.Error())
	}
	for _, n := range c.nodes {
		n.resume()
	}
	for _, n := range c.nodes {
		if n.up() {
			continue
		}
		boot := ""
		for _, m := range c.nodes {
			if m.up() {
				boot = m.addr
				break
			}
		}
		if err := c.startNode(ctx, n.i, boot); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return errs
}
