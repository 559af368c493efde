package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"time"
)

// The global suite (-suite global, make bench-global): global status against status --local
// on real daemons, issue 12's target ("global status within 3x of status --local at 20
// peers"). N peers on loopback (the embedded IPFS node), P pins posted to peer 1 in one batch
// with replication -1, so every peer pins every one and a global status has N x P parts. The
// CIDs are identity multihashes of random bytes (the block is the CID itself), so every peer
// pins them at once and the suite measures the cluster, not fetching. It reports:
//   - convergence: when every peer's own status lists every pin pinned, and when peer 1's
//     global status (from its digest replicas) shows every part pinned, after the batch's
//     answer;
//   - then, once the daemons are quiet, R rounds on peer 1 of the CLI's `status --local` and
//     `status` and of GET /pins?local=true and GET /pins, each checked complete.
//
// Decision: the ratio is of medians of the same rounds, interleaved (local, global, local,
// global), so load that comes and goes falls on both.

// globalOptions size the global suite.
type globalOptions struct {
	peers, pins, rounds int
	wait                time.Duration // bound on each convergence wait
	hold                time.Duration // keep the cluster running this long after the rounds (profiling)
}

const globalTargetRatio = 3.0

// globalResults are the global suite's figures.
type globalResults struct {
	peers, pins             int
	posted                  time.Duration // the batch, until its answer
	poll                    time.Duration // the convergence polls' interval (the figures' resolution)
	convCPU                 time.Duration // the daemons' CPU from the batch's answer to peer 1's view all pinned
	dropped                 int           // digests the peers' appliers dropped meanwhile (their queue was full)
	localsPinned, allPinned time.Duration // after the answer: every peer's own status; peer 1's global view
	quiet                   quietWait
	cliLocal, cliGlobal     []time.Duration
	httpLocal, httpGlobal   []time.Duration
	cpuLocal, cpuGlobal     []time.Duration // peer 1's CPU during each GET (10 ms ticks)
	globalBytes, localBytes int
	loadStart, loadAtRounds string
	elapsed                 time.Duration
}

func runGlobalSuite(ctx context.Context, o options, progress io.Writer) (res globalResults, err error) {
	g := o.global
	if g.peers < 2 || g.pins < 1 || g.rounds < 1 {
		return res, fmt.Errorf("-global-peers %d, -global-pins %d, -global-rounds %d: want at least 2, 1, 1", g.peers, g.pins, g.rounds)
	}
	if _, err := os.Stat(o.bin); err != nil {
		return res, fmt.Errorf("pincluster binary %s not found: run `make build`, or pass -bin PATH", o.bin)
	}
	logf := progressf(progress)
	res = globalResults{peers: g.peers, pins: g.pins, loadStart: loadAvg()}
	start := time.Now()
	defer func() {
		if res.elapsed == 0 {
			res.elapsed = time.Since(start)
		}
	}()
	tmp, err := os.MkdirTemp("", "pincluster-bench-global-")
	if err != nil {
		return res, err
	}
	defer func() { cleanupDir(o.keep || err != nil, tmp, logf) }()
	c := newCluster(o.bin, tmp, nil)
	defer func() {
		if serr := c.stop(); err == nil && serr != nil {
			err = serr
		}
	}()
	logf("starting %d peers", g.peers)
	if err := c.start(ctx, g.peers); err != nil {
		return res, c.withLogs(err)
	}
	gen := newCIDGen()
	gen.identity = true
	p1 := c.peers[0]
	logf("posting %d pins to peer 1 (replication -1: every peer pins every one)", g.pins)
	in, err := postBatch(ctx, c.hc, p1.base, gen, 0, g.pins)
	if err != nil {
		return res, c.withLogs(err)
	}
	res.posted = in.elapsed
	answered := time.Now()
	var pids []int
	for _, d := range c.peers {
		pids = append(pids, d.pid())
	}
	cpu := func() (t time.Duration) {
		for _, p := range pids {
			t += cpuTime(p)
		}
		return t
	}
	cpu0 := cpu()
	// Every peer's own status (a local pass of P pins per peer), polled every 2 s at 4k pins,
	// 10 s at 20k: the polls must not slow what they time (20 peers x 20k pins polled every 2
	// s were half a core).
	every := max(2*time.Second, time.Duration(g.pins)*time.Second/2000)
	res.poll = every
	pinned := make([]bool, len(c.peers))
	if err := waitFor(ctx, g.wait, every, func() (bool, string) {
		left := 0
		for i, d := range c.peers {
			if pinned[i] {
				continue
			}
			cw, err := getCounts(ctx, c.hc, d.base+"/pins?local=true&filter=pinned")
			if pinned[i] = err == nil && cw.lines == g.pins; !pinned[i] {
				left++
			}
		}
		return left == 0, fmt.Sprintf("%d of %d peers have pinned all %d pins", len(c.peers)-left, len(c.peers), g.pins)
	}); err != nil {
		return res, c.withLogs(err)
	}
	res.localsPinned = time.Since(answered)
	logf("every peer pinned every pin %s after the batch's answer", dur(res.localsPinned))
	// Peer 1's global view, from its replicas of the others' digests (a global pass of N x P
	// parts a poll).
	parts := g.peers * g.pins
	if err := waitFor(ctx, g.wait, every, func() (bool, string) {
		cw, err := getCounts(ctx, c.hc, p1.base+"/pins")
		return err == nil && cw.pinned == parts, fmt.Sprintf("peer 1's global status shows %d of %d parts pinned (%v)", cw.pinned, parts, err)
	}); err != nil {
		return res, c.withLogs(err)
	}
	res.allPinned = time.Since(answered)
	res.convCPU = cpu() - cpu0
	for _, d := range c.peers {
		n, err := countLines(d.log.Name(), droppedDigest)
		if err != nil {
			return res, err
		}
		res.dropped += n
	}
	logf("peer 1's global status shows all %d parts pinned %s after the batch's answer", parts, dur(res.allPinned))
	// Quiet: at most 4% of a core per peer (idle, a peer of 20 heartbeats on about 2%).
	res.quiet = waitQuietBelow(ctx, pids, 5*time.Minute, 0.04*float64(len(pids)))
	res.loadAtRounds = loadAvg()
	logf("daemons quiet (%s), load %s: %d rounds", res.quiet, res.loadAtRounds, g.rounds)
	for r := range g.rounds {
		var err error
		var d time.Duration
		if d, err = timeCLI(ctx, o.bin, p1.dir, g.pins, "status", "--local"); err == nil {
			res.cliLocal = append(res.cliLocal, d)
			if d, err = timeCLI(ctx, o.bin, p1.dir, parts, "status"); err == nil {
				res.cliGlobal = append(res.cliGlobal, d)
			}
		}
		if err == nil {
			c0 := cpuTime(p1.pid())
			d, res.localBytes, err = timeGET(ctx, c.hc, p1.base+"/pins?local=true", g.pins, g.pins)
			res.httpLocal, res.cpuLocal = append(res.httpLocal, d), append(res.cpuLocal, cpuTime(p1.pid())-c0)
		}
		if err == nil {
			c0 := cpuTime(p1.pid())
			d, res.globalBytes, err = timeGET(ctx, c.hc, p1.base+"/pins", g.pins, parts)
			res.httpGlobal, res.cpuGlobal = append(res.httpGlobal, d), append(res.cpuGlobal, cpuTime(p1.pid())-c0)
		}
		if err != nil {
			return res, c.withLogs(fmt.Errorf("round %d: %w", r+1, err))
		}
		logf("round %d: CLI %s / %s, HTTP %s / %s (local / global)", r+1, dur(res.cliLocal[r]), dur(res.cliGlobal[r]),
			dur(res.httpLocal[r]), dur(res.httpGlobal[r]))
	}
	res.elapsed = time.Since(start) // the deferred one would count the hold
	if g.hold > 0 {
		logf("holding the cluster for %s: peer 1 is %s --config %s", g.hold, o.bin, p1.dir)
		select {
		case <-ctx.Done():
		case <-time.After(g.hold):
		}
	}
	return res, nil
}

// timeCLI times `bin --config dir args...` and checks its text lists pinned ": PINNED" parts
// (the CLI prints a line per peer of each pin).
func timeCLI(ctx context.Context, bin, dir string, pinned int, args ...string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"--config", dir}, args...)...)
	var stderr bytes.Buffer
	cw := &countingWriter{text: true}
	cmd.Stdout, cmd.Stderr = cw, &stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s %v: %v: %s", bin, args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	d := time.Since(t0)
	if cw.pinned != pinned {
		return d, fmt.Errorf("%s %v: %d parts PINNED, want %d", bin, args, cw.pinned, pinned)
	}
	return d, nil
}

// timeGET times GET url read to its end and checks it lists lines objects with pinned
// "status":"pinned" parts. It returns the answer's size.
func timeGET(ctx context.Context, hc *http.Client, url string, lines, pinned int) (time.Duration, int, error) {
	t0 := time.Now()
	cw, err := getCounts(ctx, hc, url)
	d := time.Since(t0)
	if err == nil && (cw.lines != lines || cw.pinned != pinned) {
		err = fmt.Errorf("GET %s: %d objects with %d parts pinned, want %d with %d", url, cw.lines, cw.pinned, lines, pinned)
	}
	return d, cw.n, err
}

// getCounts reads GET url to its end, streamed (as curl -o /dev/null would: a client holding
// a 100 MB answer in memory would time its own allocations), and counts it.
func getCounts(ctx context.Context, hc *http.Client, url string) (countingWriter, error) {
	// A global answer of millions of parts outlasts the shared client's per-request timeout
	// (it covers the body); ctx bounds it instead.
	long := *hc
	long.Timeout = 0
	var cw countingWriter
	err := getInto(ctx, &long, url, &cw)
	return cw, err
}

// countingWriter counts the bytes, newlines and pinned parts of a stream: JSON lines (a part
// is "status":"pinned"), or with text set the CLI's text (a part is ": PINNED").
type countingWriter struct {
	text             bool
	n, lines, pinned int
	tail             []byte // the last bytes of the previous write, a pattern cut in two
}

// The patterns of a pinned part, each with where its search starts: at a byte that is rare in
// the stream. bytes.Count of the JSON pattern searched from its first byte, a quote, stopped
// every few bytes: 1.3 ns a byte, a client on the same 2 cores as the daemon it times.
var (
	pinnedPart     = []byte(`"status":"pinned"`)
	pinnedTextPart = []byte(": PINNED")
	pinnedAnchor   = len(`"status":"`)
	textAnchor     = len(": ")
)

// countFrom is bytes.Count(b, pat) for a pattern that cannot overlap itself, searched from
// pat[anchor:].
func countFrom(b, pat []byte, anchor int) int {
	n := 0
	for from := anchor; from <= len(b); {
		i := bytes.Index(b[from:], pat[anchor:])
		if i < 0 {
			break
		}
		at := from + i - anchor
		if bytes.Equal(b[at:at+anchor], pat[:anchor]) {
			n++
		}
		from += i + 1
	}
	return n
}

func (w *countingWriter) Write(b []byte) (int, error) {
	pat, anchor := pinnedPart, pinnedAnchor
	if w.text {
		pat, anchor = pinnedTextPart, textAnchor
	}
	w.n += len(b)
	w.lines += bytes.Count(b, []byte{'\n'})
	joined := append(w.tail, b[:min(len(b), len(pat)-1)]...)
	w.pinned += countFrom(joined, pat, anchor) + countFrom(b, pat, anchor)
	if keep := len(pat) - 1; len(b) >= keep {
		w.tail = append(w.tail[:0], b[len(b)-keep:]...)
	} else { // a short write: the tail is what ends the stream so far
		w.tail = append(w.tail, b...)
		w.tail = w.tail[max(0, len(w.tail)-keep):]
	}
	return len(b), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	switch {
	case len(s) == 0:
		return 0
	case len(s)%2 == 0:
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// span is "min-max" of ds.
func span(ds []time.Duration) string {
	return dur(slices.Min(ds)) + "-" + dur(slices.Max(ds))
}

// printGlobal writes the global suite's table.
func printGlobal(w io.Writer, o options, r globalResults) {
	ratio := func(g, l []time.Duration) float64 { return median(g).Seconds() / median(l).Seconds() }
	ratios := func(g, l []time.Duration) string {
		lo, hi := 0.0, 0.0
		for i := range g {
			x := g[i].Seconds() / l[i].Seconds()
			if i == 0 || x < lo {
				lo = x
			}
			hi = max(hi, x)
		}
		return fmt.Sprintf("%.1f-%.1fx by round", lo, hi)
	}
	cli, srv := ratio(r.cliGlobal, r.cliLocal), ratio(r.httpGlobal, r.httpLocal)
	cpuRatio := "-" // a median of 0 ticks (a small run's local answer) has no ratio
	if median(r.cpuLocal) > 0 {
		cpuRatio = fmt.Sprintf("%.1fx", ratio(r.cpuGlobal, r.cpuLocal))
	}
	rows := [][]string{tableHeader,
		{fmt.Sprintf("status (CLI), %s pins x %d peers", count(r.pins), r.peers), dur(median(r.cliGlobal)) + " median, " + span(r.cliGlobal),
			"status --local " + dur(median(r.cliLocal)) + " median, " + span(r.cliLocal), fmt.Sprintf("%.1fx (%s)", cli, ratios(r.cliGlobal, r.cliLocal)),
			"<= 3x", yes(cli <= globalTargetRatio)},
		{"GET /pins (server)", dur(median(r.httpGlobal)) + " median, " + span(r.httpGlobal),
			"GET /pins?local=true " + dur(median(r.httpLocal)) + " median, " + span(r.httpLocal), fmt.Sprintf("%.1fx (%s)", srv, ratios(r.httpGlobal, r.httpLocal)),
			"<= 3x", yes(srv <= globalTargetRatio)},
		{"  peer 1's CPU per answer", dur(median(r.cpuGlobal)) + " median", "local " + dur(median(r.cpuLocal)) + " median",
			cpuRatio, "-", ""},
		{"  answer size", fmt.Sprintf("%.1f MB", float64(r.globalBytes)/1e6), fmt.Sprintf("%.1f MB local", float64(r.localBytes)/1e6),
			fmt.Sprintf("%.1fx", float64(r.globalBytes)/float64(r.localBytes)), "-", ""},
		{"every peer pinned every pin", dur(r.localsPinned) + " after", "the batch's answer (" + dur(r.posted) + ")", "-", "-", ""},
		{"peer 1's global status all pinned", dur(r.allPinned) + " after", "the batch's answer", "-", "-", ""},
		{"  (both polled every " + dur(r.poll) + ")", "", "", "", "", ""},
		{"  the daemons' CPU meanwhile", dur(r.convCPU), fmt.Sprintf("%.0f us per part pinned and published", float64(r.convCPU.Microseconds())/float64(r.peers*r.pins)), "-", "-", ""},
		{"  digests dropped meanwhile", fmt.Sprint(r.dropped), "the peers' logs: " + strconv.Quote(droppedDigest), "-", "-", ""},
	}
	fmt.Fprintf(w, "\npincluster bench (-suite global): %d peers on loopback, %d CPUs, %s/%s, load average %s at start, %s at the rounds, took %s, %s\n\n",
		r.peers, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, r.loadStart, r.loadAtRounds, r.elapsed.Round(time.Second), time.Now().Format(time.DateTime))
	writeAligned(w, rows)
	fmt.Fprintf(w, "\nnotes:\n  - %d rounds on peer 1 after the daemons went quiet (%s), each: status --local, status, GET\n"+
		"    /pins?local=true, GET /pins; every answer checked complete (every part PINNED or pinned).\n"+
		"  - the CIDs are identity multihashes (the block is in the CID): every peer pins each at once.\n"+
		"  - all %d daemons and the client share this machine's CPUs; peer 1's CPU per answer (from\n"+
		"    /proc, in 10 ms ticks) does not count the waits that others' work causes.\n", len(r.httpGlobal), r.quiet, r.peers)
	fmt.Fprintf(w, "\nreproduce: make build && go run ./bench -suite global -global-peers %d -global-pins %d -global-rounds %d\n",
		r.peers, r.pins, o.global.rounds)
}

// droppedDigest is what a daemon logs when its digest applier's queue is full: each drop
// costs a pull of that peer's whole digest.
const droppedDigest = "too many digests waiting"

// countLines counts the times sub occurs in the file at path: its lines that hold it, for a
// text that occurs once a line at most (a daemon log of a bench run: megabytes).
func countLines(path, sub string) (int, error) {
	b, err := os.ReadFile(path)
	return bytes.Count(b, []byte(sub)), err
}
