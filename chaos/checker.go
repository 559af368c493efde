package main

import (
	"sort"
)

// Expect is the state a CID must end in, on every peer, once the cluster has converged.
type Expect int

const (
	Absent      Expect = iota // an unpin was acknowledged
	NeverPinned               // its pin was refused: nothing was written
	Present                   // pin acknowledged, no unpin that may have been applied
	Either                    // an op that may or may not have been applied decides it
)

func (e Expect) String() string {
	return [...]string{"absent", "never-pinned", "present", "either"}[e]
}

// Expected derives each CID's final state from the op log. The load generator pins a CID at
// most once and unpins it only after its pin was acknowledged (it may retry an unpin that was
// refused), so ops on one CID never conflict: the pin comes first and every unpin is causally
// after it (a peer accepts an unpin only for a CID it holds, so its clock has seen the pin's).
// Last-writer-wins therefore leaves the CID absent iff some unpin was applied. Per CID:
//
//	pin acked            -> present;  pin maybe -> either;  pin refused -> never-pinned
//	then any unpin acked -> absent;   an unpin maybe turns present into either;
//	                                  an unpin refused changes nothing
func Expected(ops []OpRecord) map[string]Expect {
	pin := map[string]Outcome{}
	unpinAcked, unpinMaybe := map[string]bool{}, map[string]bool{}
	for _, o := range ops {
		switch o.Kind {
		case OpPin:
			pin[o.Cid] = o.Outcome
		case OpUnpin:
			if _, ok := pin[o.Cid]; !ok {
				pin[o.Cid] = Refused // an unpin with no pin in the log: it started absent
			}
			switch o.Outcome {
			case Acked:
				unpinAcked[o.Cid] = true
			case Maybe:
				unpinMaybe[o.Cid] = true
			}
		}
	}
	out := make(map[string]Expect, len(pin))
	for c, p := range pin {
		e := NeverPinned
		switch p {
		case Acked:
			e = Present
		case Maybe:
			e = Either
		}
		switch {
		case unpinAcked[c]:
			e = Absent
		case unpinMaybe[c] && e == Present:
			e = Either
		}
		out[c] = e
	}
	return out
}

// Finding is a CID in a wrong state and the peers (1-based) where it is wrong.
type Finding struct {
	Cid   string `json:"cid"`
	Peers []int  `json:"peers"`
}

// Verdict compares every peer's pinset with the expected states.
type Verdict struct {
	// Lost: expected present (acknowledged pin, no unpin tried or all refused) but missing
	// from these peers' pinsets.
	Lost []Finding `json:"lost"`
	// Resurrected: expected absent (acknowledged unpin) but present on these peers.
	Resurrected []Finding `json:"resurrected"`
	// Diverged: either state is allowed, but the peers disagree (listed: those holding it).
	Diverged []Finding `json:"diverged"`
	// Phantom: in a pinset although its pin was refused, or no op of this run named it.
	Phantom []Finding `json:"phantom"`
}

// OK reports whether every peer holds exactly what it must.
func (v Verdict) OK() bool {
	return len(v.Lost) == 0 && len(v.Resurrected) == 0 && len(v.Diverged) == 0 && len(v.Phantom) == 0
}

// Check compares the pinset of each peer (peer -> set of CIDs) with exp. Peers missing from
// pinsets (their listing failed) count as holding nothing.
func Check(exp map[string]Expect, pinsets map[int]map[string]bool, peers []int) Verdict {
	var v Verdict
	holders := func(c string) (in, out []int) {
		for _, p := range peers {
			if pinsets[p][c] {
				in = append(in, p)
			} else {
				out = append(out, p)
			}
		}
		return in, out
	}
	for c, e := range exp {
		in, out := holders(c)
		switch {
		case e == Present && len(out) > 0:
			v.Lost = append(v.Lost, Finding{Cid: c, Peers: out})
		case e == Absent && len(in) > 0:
			v.Resurrected = append(v.Resurrected, Finding{Cid: c, Peers: in})
		case e == NeverPinned && len(in) > 0:
			v.Phantom = append(v.Phantom, Finding{Cid: c, Peers: in})
		case e == Either && len(in) > 0 && len(out) > 0:
			v.Diverged = append(v.Diverged, Finding{Cid: c, Peers: in})
		}
	}
	seen := map[string][]int{}
	for _, p := range peers {
		for c := range pinsets[p] {
			if _, ok := exp[c]; !ok {
				seen[c] = append(seen[c], p)
			}
		}
	}
	for c, ps := range seen {
		sort.Ints(ps)
		v.Phantom = append(v.Phantom, Finding{Cid: c, Peers: ps})
	}
	for _, fs := range [][]Finding{v.Lost, v.Resurrected, v.Diverged, v.Phantom} {
		sort.Slice(fs, func(i, j int) bool { return fs[i].Cid < fs[j].Cid })
	}
	return v
}
