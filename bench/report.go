package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Targets from the issue: ingest at least 20k pins/s, listing at least half of raw Badger
// iteration; RSS targets in memory.go.
const (
	targetIngest    = 20_000
	targetListRatio = 0.50
	targetStatus    = 200_000 // status --local pins/s
)

// tableHeader is the first row of every table.
var tableHeader = []string{"metric", "value", "baseline (same run)", "ratio", "target", "met"}

// printTable writes the single-peer figures with their same-run baselines and the command to
// reproduce.
func printTable(w io.Writer, o options, r results) {
	rows := append([][]string{tableHeader}, singleRows(o, r)...)
	fmt.Fprintf(w, "\npincluster bench: one peer, %d CPUs, %s/%s, load average %s at start, %s\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, r.loadStart, time.Now().Format(time.DateTime))
	writeAligned(w, rows)
	fmt.Fprintf(w, "\nnotes:\n")
	singleNotes(w, o, r)
	fmt.Fprintf(w, "\nreproduce: go build -o bin/pincluster ./cmd/pincluster && go run ./bench -suite single -n %d -ingest %d -clients %d\n", o.total, min(o.ingest, o.total), o.clients)
}

// singleRows are the single-peer suite's rows.
func singleRows(o options, r results) [][]string {
	var rows [][]string
	add := func(cells ...string) { rows = append(rows, cells) }
	fi := r.ingestFirst
	add(fmt.Sprintf("ingest POST /pins (%d clients, %s pins)", o.clients, count(fi.pins)),
		human(fi.rate())+" pins/s",
		"raw badger write "+human(r.rawWrite)+"/s",
		pct(fi.rate()/r.rawWrite), ">= 20k pins/s", yes(fi.rate() >= targetIngest))
	if hf := r.httpFloor.rate(); hf > 0 {
		add("  HTTP floor: the same client, a handler that only answers", human(hf)+" req/s", "ingest "+human(fi.rate())+" pins/s",
			pct(fi.rate()/hf), "-", "")
	}
	add("  latency p50 / p99", fi.p50.Round(time.Microsecond).String()+" / "+fi.p99.Round(time.Microsecond).String(), "-", "-", "-", "")
	if rest := r.ingestRest; rest.pins > 0 {
		how := ""
		if o.fillBatch {
			how = " (one POST /pins/batch)"
		}
		add(fmt.Sprintf("ingest pins %s..%s%s", count(fi.pins), count(fi.pins+rest.pins), how),
			human(rest.rate())+" pins/s",
			"raw badger write "+human(r.rawWrite)+"/s",
			pct(rest.rate()/r.rawWrite), ">= 20k pins/s", yes(rest.rate() >= targetIngest))
		add("  latency p50 / p99", rest.p50.Round(time.Microsecond).String()+" / "+rest.p99.Round(time.Microsecond).String(), "-", "-", "-", "")
	}
	add("  reads start once the daemon is quiet (under 0.1 core), after", r.readsQuiet.String(), "-", "-", "-", "")
	lr := r.list.rate()
	add(fmt.Sprintf("list GET /allocations (%s pins, best of %d)", count(r.list.pins), len(r.listRuns)),
		human(lr)+" pins/s",
		"raw badger iterate "+human(r.rawIterate)+"/s",
		pct(lr/r.rawIterate), ">= 50%", yes(lr/r.rawIterate >= targetListRatio))
	if sl := r.statusLocal; sl.pins > 0 {
		add(fmt.Sprintf("status --local GET /pins?local=true (%s pins, best of %d)", count(sl.pins), len(r.listRuns)),
			human(sl.rate())+" pins/s", "list "+human(lr)+" pins/s", pct(sl.rate()/lr), ">= 200k pins/s", yes(sl.rate() >= targetStatus))
	}
	if lk := r.lookup; lk.exact > 0 {
		add(fmt.Sprintf("lookup by exact name (%s pins, best of 5)", count(o.total)), lk.exact.Round(10*time.Microsecond).String(),
			"-", "-", "< "+lookupTarget.String(), yes(lk.exact < lookupTarget))
		add("  by partial name (a checked scan)", fmt.Sprintf("%s (%s pins/s)", lk.partial.elapsed.Round(time.Millisecond), human(float64(o.total)/lk.partial.elapsed.Seconds())),
			"list "+human(lr)+" pins/s", pct(float64(o.total)/lk.partial.elapsed.Seconds()/lr), "-", "")
	}
	add(fmt.Sprintf("daemon RSS holding %s pins (settled: %s after the last request)", count(o.total), o.settle), mb(r.rss), "-", "-", rssTargetText(o.total), yes(r.rss < rssTarget(o.total)))
	add("  RssAnon (heap; no mmapped files)", mb(r.rssAnon), "-", "-", "-", "")
	add("  RSS right after ingest / after the reads / peak (VmHWM)", mb(r.rssIngest)+" / "+mb(r.rssReads)+" / "+mb(r.hwm), "-", "-", "-", "")
	add("  on disk (datastore + ipfs repo)", mb(r.diskBytes), "-", "-", "-", "")
	add("  pin JSON in listing", fmt.Sprintf("%d B/pin", r.avgPinJSON), "raw value size", "-", "-", "")
	return rows
}

// singleNotes explains the single-peer rows.
func singleNotes(w io.Writer, o options, r results) {
	fmt.Fprintf(w, "- CIDs are random CIDv1 raw sha256 the node cannot fetch, so every pin stays queued in the\n")
	fmt.Fprintf(w, "  tracker (max_pin_queue_size raised to %d): realistic, and part of the RSS figure.\n", benchQueueSize)
	fmt.Fprintf(w, "- the baseline is plain Badger with the Store's tuning, %s keys of %d-byte values, written\n", count(o.total), r.avgPinJSON)
	fmt.Fprintf(w, "  in 256-set transactions and iterated in one pass, with the daemon stopped.\n")
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		fmt.Fprintf(w, "- the daemon ran with GOMEMLIMIT=%s from the environment (not its built-in soft limit).\n", v)
	} else {
		fmt.Fprintf(w, "- the daemon ran with its built-in soft Go memory limit (set GOMEMLIMIT to override,\n")
		fmt.Fprintf(w, "  e.g. GOMEMLIMIT=off make bench, to see the speed/RSS trade).\n")
	}
	fmt.Fprintf(w, "- HTTP floor: the ingest's client and loop against a net/http handler in the bench process\n")
	fmt.Fprintf(w, "  that answers a fixed pin and stores nothing, with the daemon stopped (one run; the\n")
	fmt.Fprintf(w, "  handler shares the bench's runtime): about the most single POSTs this machine serves to\n")
	fmt.Fprintf(w, "  this client, whatever the daemon does.\n")
	fmt.Fprintf(w, "- the bench client shares the machine with the daemon; a load average above the CPU count\n")
	fmt.Fprintf(w, "  means other work competed with both and every figure is low and noisy.\n")
	fmt.Fprintf(w, "- listing runs: ")
	for i, l := range r.listRuns {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%s pins/s", human(l.rate()))
	}
	fmt.Fprintln(w)
}

func writeAligned(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for n, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(c + strings.Repeat(" ", widths[i]-len(c)))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if n == 0 {
			var sep []string
			for _, wd := range widths {
				sep = append(sep, strings.Repeat("-", wd))
			}
			fmt.Fprintln(w, strings.Join(sep, "-|-"))
		}
	}
}

// human formats a rate: 950, 23.5k, 1.25M.
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// count formats a pin count: 100k, 1M, 2500.
func count(n int) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%dM", n/1e6)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%dk", n/1e3)
	default:
		return fmt.Sprint(n)
	}
}

func pct(r float64) string { return fmt.Sprintf("%.1f%%", 100*r) }

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}
