package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// rssOf is one peer's resident-memory peak over all its incarnations.
type rssOf struct {
	peer   string
	hwm    int64
	starts int
}

// report gathers a run's figures and verdicts.
type report struct {
	seed      uint64
	peers     int
	duration  time.Duration
	dir       string
	ops       opCounts
	expect    map[Expect]int
	faults    map[faultKind]int
	faultErrs []fault
	heal      []string
	conv      convergence
	settle    settled
	rss       []rssOf
	crashes   []string
}

// pass: nothing lost or resurrected, the pinsets converged, nobody isolated, nothing stuck in
// flight, no daemon died on its own, and every fault was healed.
func (r report) pass() bool {
	return r.conv.converged && len(r.settle.inFlight) == 0 && len(r.crashes) == 0 && len(r.heal) == 0 && len(r.faultErrs) == 0
}

func (r report) print(w io.Writer) {
	v := r.conv.verdict
	fmt.Fprintf(w, "\n==== chaos report (seed %d, %d peers, %s)\n", r.seed, r.peers, r.duration)
	fmt.Fprintf(w, "ops acknowledged:   %d (%d pins, %d unpins); maybe: %d; refused: %d (%d of them unpins the peer did not hold yet)\n",
		r.ops.PinsAcked+r.ops.UnpinsAcked, r.ops.PinsAcked, r.ops.UnpinsAcked, r.ops.Maybe, r.ops.Refused, r.ops.UnpinsNotFound)
	fmt.Fprintf(w, "CIDs expected:      %d present, %d absent (unpin acked), %d either (maybe ops), %d never pinned\n",
		r.expect[Present], r.expect[Absent], r.expect[Either], r.expect[NeverPinned])
	var kinds []string
	for _, w := range faultWeights {
		if n := r.faults[w.kind]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", w.kind, n))
		}
	}
	fmt.Fprintf(w, "faults injected:    %s\n", orNone(strings.Join(kinds, ", ")))
	for _, f := range r.faultErrs {
		fmt.Fprintf(w, "  fault failed:     %s on p%d at %s: %s\n", f.Kind, f.Peer, f.At, f.Err)
	}
	for _, e := range r.heal {
		fmt.Fprintf(w, "  heal failed:      %s\n", e)
	}
	fmt.Fprintf(w, "lost:               %d CIDs, %d of them on no peer%s\n", len(v.Lost), everywhere(v.Lost, r.peers), sample(v.Lost))
	fmt.Fprintf(w, "resurrected:        %d CIDs, %d of them on every peer%s\n", len(v.Resurrected), everywhere(v.Resurrected, r.peers), sample(v.Resurrected))
	fmt.Fprintf(w, "diverged (maybe):   %d%s\n", len(v.Diverged), sample(v.Diverged))
	fmt.Fprintf(w, "phantom:            %d%s\n", len(v.Phantom), sample(v.Phantom))
	fmt.Fprintf(w, "diverged peers:     %s\n", orNone(strings.Join(divergedPeers(v), ", ")))
	fmt.Fprintf(w, "isolated peers:     %s\n", orNone(strings.Join(r.conv.isolated, "; ")))
	for _, e := range r.conv.errs {
		fmt.Fprintf(w, "  listing failed:   %s\n", e)
	}
	if r.conv.converged {
		fmt.Fprintf(w, "converged:          yes, %.1fs after heal\n", r.conv.after.Seconds())
	} else {
		fmt.Fprintf(w, "converged:          NO within %.0fs of heal\n", r.conv.after.Seconds())
	}
	fmt.Fprintf(w, "stuck in flight:    %s\n", orNone(counts(r.settle.inFlight)))
	for _, s := range r.settle.stuck {
		fmt.Fprintf(w, "  stuck:            %s\n", s)
	}
	fmt.Fprintf(w, "other statuses:     %s (after %.0fs; pinned: %s)\n", orNone(counts(r.settle.other)), r.settle.after.Seconds(), orNone(counts(r.settle.pinned)))
	for _, e := range r.settle.errs {
		fmt.Fprintf(w, "  status failed:    %s\n", e)
	}
	fmt.Fprintf(w, "daemon crashes:     %d\n", len(r.crashes))
	for _, c := range r.crashes {
		fmt.Fprintf(w, "  %s\n", c)
	}
	var rss []string
	for _, p := range r.rss {
		rss = append(rss, fmt.Sprintf("%s %d MB (%d starts)", p.peer, p.hwm>>20, p.starts))
	}
	fmt.Fprintf(w, "max RSS (VmHWM):    %s\n", strings.Join(rss, ", "))
}

// save writes the verdict's details (every finding, not a sample) as JSON.
func (r report) save(path string) error {
	out := map[string]any{
		"seed": r.seed, "peers": r.peers, "duration": r.duration.String(), "ops": r.ops,
		"faults": r.faults, "fault_errors": r.faultErrs, "heal_errors": r.heal,
		"converged": r.conv.converged, "converge_seconds": r.conv.after.Seconds(),
		"verdict": r.conv.verdict, "isolated": r.conv.isolated, "listing_errors": r.conv.errs,
		"in_flight": r.settle.inFlight, "stuck": r.settle.stuck, "other_statuses": r.settle.other, "pinned": r.settle.pinned,
		"crashes": r.crashes, "pass": r.pass(),
	}
	rss := map[string]int64{}
	for _, p := range r.rss {
		rss[p.peer] = p.hwm
	}
	out["max_rss_bytes"] = rss
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// tally counts CIDs by expected state.
func tally(exp map[string]Expect) map[Expect]int {
	out := map[Expect]int{}
	for _, e := range exp {
		out[e]++
	}
	return out
}

// everywhere counts the findings that concern all n peers.
func everywhere(fs []Finding, n int) int {
	k := 0
	for _, f := range fs {
		if len(f.Peers) == n {
			k++
		}
	}
	return k
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// sample shows a few findings: " (e.g. bafk... on p2,p3)".
func sample(fs []Finding) string {
	if len(fs) == 0 {
		return ""
	}
	var parts []string
	for _, f := range fs[:min(3, len(fs))] {
		var ps []string
		for _, p := range f.Peers {
			ps = append(ps, fmt.Sprintf("p%d", p))
		}
		parts = append(parts, f.Cid+" on "+strings.Join(ps, ","))
	}
	return " (e.g. " + strings.Join(parts, "; ") + ")"
}

// divergedPeers names the peers whose pinset differs from what it must hold, with counts.
func divergedPeers(v Verdict) []string {
	n := map[int]int{}
	for _, fs := range [][]Finding{v.Lost, v.Resurrected, v.Phantom} {
		for _, f := range fs {
			for _, p := range f.Peers {
				n[p]++
			}
		}
	}
	var out []string
	for p, k := range n {
		out = append(out, fmt.Sprintf("p%d (%d CIDs)", p, k))
	}
	sort.Strings(out)
	return out
}

func counts(m map[string]int) string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
