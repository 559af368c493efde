package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// suiteResults hold the figures of the suites that ran (nil: not run or failed).
type suiteResults struct {
	single    *results
	cluster   *clusterResults
	decisions *decisionResults
	repin     *repinResults
	loadStart string
	elapsed   time.Duration
}

func suiteSet(name string) (single, cluster, alloc bool, err error) {
	switch name {
	case "all":
		return true, true, true, nil
	case "single":
		return true, false, false, nil
	case "cluster":
		return false, true, false, nil
	case "alloc":
		return false, false, true, nil
	}
	return false, false, false, fmt.Errorf("-suite %q: want single, cluster, alloc or all", name)
}

// runSuites runs the suites o.suite names, one after the other (each stops its daemons before
// the next starts). A failed suite does not stop the others; the errors are joined.
func runSuites(ctx context.Context, o options, progress io.Writer) (sr suiteResults, err error) {
	single, cluster, alloc, err := suiteSet(o.suite)
	if err != nil {
		return sr, err
	}
	if _, err := os.Stat(o.bin); err != nil && (single || cluster || alloc) {
		return sr, fmt.Errorf("pincluster binary %s not found: run `make build` (or `go build -o bin/pincluster ./cmd/pincluster`) in the repository root, or pass -bin PATH", o.bin)
	}
	if err := checkSizes(o, single, cluster, alloc); err != nil {
		return sr, err
	}
	logf := progressf(progress)
	sr.loadStart = loadAvg()
	start := time.Now()
	defer func() { sr.elapsed = time.Since(start) }()
	var errs []error
	if single {
		logf("== suite single")
		r, err := run(ctx, o, progress)
		if err != nil {
			errs = append(errs, fmt.Errorf("single suite: %w", err))
		} else {
			sr.single = &r
		}
	}
	if cluster && ctx.Err() == nil {
		logf("== suite cluster")
		var solo *ingestResult
		if sr.single != nil && sr.single.ingestFirst.pins == o.cluster.pins {
			solo = &sr.single.ingestFirst
		}
		r, err := runCluster(ctx, o, o.cluster, solo, progress)
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster suite: %w", err))
		} else {
			sr.cluster = &r
		}
	}
	if alloc && ctx.Err() == nil {
		logf("== suite alloc")
		d, err := runDecisions(o.alloc)
		if err != nil {
			errs = append(errs, fmt.Errorf("alloc suite (decisions): %w", err))
		} else {
			sr.decisions = &d
		}
		tmp, err := os.MkdirTemp("", "pincluster-bench-alloc-")
		if err != nil {
			return sr, errors.Join(append(errs, err)...)
		}
		r, err := runRepin(ctx, o, o.repin, tmp, progress)
		cleanupDir(o.keep || err != nil, tmp, logf)
		if err != nil {
			errs = append(errs, fmt.Errorf("alloc suite (self-healing): %w", err))
		} else {
			sr.repin = &r
		}
	}
	return sr, errors.Join(errs...)
}

func checkSizes(o options, single, cluster, alloc bool) error {
	switch {
	case single && (o.total < 1 || o.ingest < 1 || o.lists < 1):
		return errors.New("-n, -ingest and -lists must be at least 1")
	case o.clients < 1:
		return errors.New("-clients must be at least 1")
	case cluster && (o.cluster.pins < 1 || o.cluster.every < 1 || o.cluster.catchup < 0):
		return errors.New("-cluster-pins and -sample must be at least 1, -catchup at least 0")
	case alloc && (o.alloc.peers < o.alloc.repl || o.alloc.cids < 1):
		return fmt.Errorf("-alloc-peers must be at least the replication factor (%d), -alloc-cids at least 1", o.alloc.repl)
	case alloc && (o.repin.pins < 0 || o.repin.files < 1):
		return errors.New("-repin-pins must be at least 0 and -repin-files at least 1")
	}
	return nil
}

// printAll writes one table with the rows of every suite that ran, then the notes.
func printAll(w io.Writer, o options, sr suiteResults) {
	rows := [][]string{tableHeader}
	if sr.single != nil {
		rows = append(rows, []string{"single peer", "", "", "", "", ""})
		rows = append(rows, singleRows(o, *sr.single)...)
	}
	if sr.cluster != nil {
		rows = append(rows, []string{fmt.Sprintf("cluster (%d peers, loopback)", o.cluster.peers), "", "", "", "", ""})
		rows = append(rows, clusterRows(o, *sr.cluster)...)
	}
	if sr.decisions != nil || sr.repin != nil {
		rows = append(rows, []string{"allocation", "", "", "", "", ""})
		rows = append(rows, allocRows(o, sr.decisions, sr.repin)...)
	}
	fmt.Fprintf(w, "\npincluster bench (-suite %s): %d CPUs, %s/%s, load average %s at start, took %s, %s\n\n",
		o.suite, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, sr.loadStart, sr.elapsed.Round(time.Second), time.Now().Format(time.DateTime))
	writeAligned(w, rows)
	fmt.Fprintf(w, "\nnotes:\n")
	if sr.single != nil {
		singleNotes(w, o, *sr.single)
	}
	if sr.cluster != nil {
		clusterNotes(w, o, *sr.cluster)
	}
	if sr.decisions != nil || sr.repin != nil {
		allocNotes(w, o, sr.decisions, sr.repin)
	}
	fmt.Fprintf(w, "\nreproduce: go build -o bin/pincluster ./cmd/pincluster && go run ./bench -suite %s -clients %d", o.suite, o.clients)
	single, cluster, alloc, _ := suiteSet(o.suite)
	if single {
		fmt.Fprintf(w, " -n %d -ingest %d", o.total, min(o.ingest, o.total))
	}
	if cluster {
		fmt.Fprintf(w, " -cluster-pins %d -sample %d -catchup %d", o.cluster.pins, o.cluster.every, o.cluster.catchup)
	}
	if alloc {
		fmt.Fprintf(w, " -alloc-peers %d -alloc-cids %d -repin-pins %d -repin-files %d", o.alloc.peers, o.alloc.cids, o.repin.pins, o.repin.files)
	}
	fmt.Fprintln(w)
}
