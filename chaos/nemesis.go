package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/faults"
)

// faultKind is one kind of fault the nemesis injects.
type faultKind string

const (
	faultKill      faultKind = "kill"      // SIGKILL, then restart on the same config dir
	faultPause     faultKind = "pause"     // SIGSTOP, then SIGCONT
	faultPartition faultKind = "partition" // the peer and all others block each other
	faultSkew      faultKind = "skew"      // the peer's HLC time source is shifted
	faultDiskFull  faultKind = "disk-full" // every pinset store write fails with ENOSPC
	faultIPFSSlow  faultKind = "ipfs-slow" // IPFS pin/unpin delayed
	faultIPFSFail  faultKind = "ipfs-fail" // IPFS pin/unpin fail
)

// faultWeights is how often each kind is picked (out of the sum).
var faultWeights = []struct {
	kind   faultKind
	weight int
}{
	{faultKill, 20}, {faultPause, 15}, {faultPartition, 20}, {faultSkew, 12},
	{faultDiskFull, 15}, {faultIPFSSlow, 9}, {faultIPFSFail, 9},
}

// fault is one planned fault; every random choice is drawn when it is planned, in the
// nemesis goroutine, so a seed always yields the same schedule.
type fault struct {
	At        time.Duration // since the start of the load
	Kind      faultKind
	Peer      int
	For       time.Duration
	Skew      time.Duration
	Delay     time.Duration
	Bootstrap int    // kill: restart with --bootstrap to this peer (0: none, peerstore only)
	Err       string // injecting or healing failed
}

// nemesis injects seeded random faults on random peers, never on more than a minority at once.
type nemesis struct {
	c          *cluster
	rng        *rand.Rand
	kinds      map[faultKind]bool // enabled kinds
	start      time.Time
	maxFaulted int
	gapMin     time.Duration
	gapMax     time.Duration
	durMin     time.Duration
	durMax     time.Duration

	mu      sync.Mutex
	faulted map[int]bool
	done    []fault
	log     *os.File
}

// parseKinds turns "kill,partition" (or "all") into the set of enabled fault kinds.
func parseKinds(list string) (map[faultKind]bool, error) {
	out := map[faultKind]bool{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "all" {
			for _, w := range faultWeights {
				out[w.kind] = true
			}
			continue
		}
		known := false
		for _, w := range faultWeights {
			known = known || w.kind == faultKind(s)
		}
		if !known {
			return nil, fmt.Errorf("-faults: unknown fault %q (use all or a comma list of %s)", s, kindNames())
		}
		out[faultKind(s)] = true
	}
	return out, nil
}

func kindNames() string {
	var names []string
	for _, w := range faultWeights {
		names = append(names, string(w.kind))
	}
	return strings.Join(names, ", ")
}

func newNemesis(c *cluster, seed uint64, kinds map[faultKind]bool, logPath string) (*nemesis, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	return &nemesis{c: c, rng: rand.New(rand.NewPCG(seed, 0x6e656d65)), kinds: kinds, maxFaulted: (len(c.nodes) - 1) / 2,
		gapMin: 2 * time.Second, gapMax: 6 * time.Second, durMin: 3 * time.Second, durMax: 15 * time.Second,
		faulted: map[int]bool{}, log: f}, nil
}

// run injects faults until ctx ends, then heals the faults it injected (restarting killed
// peers) and returns once all are healed.
func (m *nemesis) run(ctx context.Context) {
	m.start = time.Now()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		gap := m.between(m.gapMin, m.gapMax)
		t := time.NewTimer(gap)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		f, ok := m.plan()
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.apply(ctx, f)
		}()
	}
}

func (m *nemesis) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(m.rng.Int64N(int64(hi-lo)+1))
}

// plan picks a fault kind, a peer not already faulted and the fault's parameters. It draws
// the same numbers whether or not a fault can be placed, so the schedule depends on the seed
// only as far as which peers are busy.
func (m *nemesis) plan() (fault, bool) {
	total := 0
	for _, w := range faultWeights {
		if m.kinds[w.kind] {
			total += w.weight
		}
	}
	r := m.rng.IntN(total)
	var kind faultKind
	for _, w := range faultWeights {
		if !m.kinds[w.kind] {
			continue
		}
		if r < w.weight {
			kind = w.kind
			break
		}
		r -= w.weight
	}
	n := len(m.c.nodes)
	f := fault{At: time.Since(m.start).Round(time.Millisecond), Kind: kind, Peer: 1 + m.rng.IntN(n), For: m.between(m.durMin, m.durMax)}
	skew := time.Duration(10+m.rng.IntN(290)) * time.Second
	if m.rng.IntN(2) == 0 {
		skew = -skew
	}
	delay := time.Duration(1+m.rng.IntN(10)) * time.Second
	boot := 1 + m.rng.IntN(n-1) // another peer: skip f.Peer
	if boot >= f.Peer {
		boot++
	}
	withBoot := m.rng.IntN(2) == 0
	switch kind {
	case faultSkew:
		f.Skew = skew
	case faultIPFSSlow:
		f.Delay = delay
	case faultKill:
		if withBoot {
			f.Bootstrap = boot
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.faulted) >= m.maxFaulted || m.faulted[f.Peer] || !m.c.node(f.Peer).up() {
		return f, false
	}
	m.faulted[f.Peer] = true
	return f, true
}

// apply injects f, waits its duration (or until ctx ends) and heals it.
func (m *nemesis) apply(ctx context.Context, f fault) {
	defer func() {
		m.mu.Lock()
		delete(m.faulted, f.Peer)
		m.done = append(m.done, f)
		b, _ := json.Marshal(f.record())
		m.log.Write(append(b, '\n'))
		m.mu.Unlock()
	}()
	n := m.c.node(f.Peer)
	fmt.Printf("  %7s  %-9s %s for %s%s\n", f.At.Round(100*time.Millisecond), f.Kind, n.name(), f.For.Round(100*time.Millisecond), f.detail())
	heal, err := m.inject(f)
	if err != nil {
		f.Err = err.Error()
		return
	}
	t := time.NewTimer(f.For)
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	t.Stop()
	if err := heal(); err != nil {
		f.Err = err.Error()
		fmt.Printf("  %7s  heal of %s on %s failed: %v\n", time.Since(m.start).Round(100*time.Millisecond), f.Kind, n.name(), err)
	}
}

// record is f's line in faults.jsonl, with readable durations.
func (f fault) record() map[string]any {
	r := map[string]any{"at": f.At.String(), "kind": f.Kind, "peer": f.Peer, "for": f.For.Round(time.Millisecond).String()}
	if f.Skew != 0 {
		r["skew"] = f.Skew.String()
	}
	if f.Delay != 0 {
		r["delay"] = f.Delay.String()
	}
	if f.Kind == faultKill {
		r["bootstrap"] = f.Bootstrap
	}
	if f.Err != "" {
		r["err"] = f.Err
	}
	return r
}

func (f fault) detail() string {
	switch {
	case f.Kind == faultSkew:
		return fmt.Sprintf(" (HLC %+v)", f.Skew)
	case f.Kind == faultIPFSSlow:
		return fmt.Sprintf(" (delay %s)", f.Delay)
	case f.Kind == faultKill && f.Bootstrap == 0:
		return " (restart without --bootstrap)"
	case f.Kind == faultKill:
		return fmt.Sprintf(" (restart --bootstrap p%d)", f.Bootstrap)
	}
	return ""
}

// inject starts f and returns the function that heals it.
func (m *nemesis) inject(f fault) (heal func() error, err error) {
	c, n := m.c, m.c.node(f.Peer)
	own := func(set func(*faults.Config)) (func() error, error) {
		if err := c.setFault(f.Peer, set); err != nil {
			return nil, err
		}
		return func() error { return c.setFault(f.Peer, func(cfg *faults.Config) { *cfg = faults.Config{} }) }, nil
	}
	switch f.Kind {
	case faultKill:
		n.kill()
		return func() error {
			boot := ""
			if f.Bootstrap > 0 {
				boot = c.node(f.Bootstrap).addr
			}
			// Bounded by startTimeout; not by the run's context, which may be over already.
			return c.startNode(context.Background(), f.Peer, boot)
		}, nil
	case faultPause:
		n.pause()
		return func() error { n.resume(); return nil }, nil
	case faultPartition:
		if err := c.setPartitioned(f.Peer, true); err != nil {
			return nil, err
		}
		return func() error { return c.setPartitioned(f.Peer, false) }, nil
	case faultSkew:
		return own(func(cfg *faults.Config) { cfg.ClockSkew = config.Duration(f.Skew) })
	case faultDiskFull:
		return own(func(cfg *faults.Config) { cfg.DiskFull = true })
	case faultIPFSSlow:
		return own(func(cfg *faults.Config) { cfg.IPFSDelay = config.Duration(f.Delay) })
	case faultIPFSFail:
		return own(func(cfg *faults.Config) { cfg.IPFSFail = true })
	}
	return nil, fmt.Errorf("unknown fault %q", f.Kind)
}

// summary counts the faults injected, by kind.
func (m *nemesis) summary() (map[faultKind]int, []fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[faultKind]int{}
	var failed []fault
	for _, f := range m.done {
		out[f.Kind]++
		if f.Err != "" {
			failed = append(failed, f)
		}
	}
	m.log.Close()
	return out, failed
}
