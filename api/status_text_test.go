package api

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// fmtStatus is the CLI's status block as it was written with fmt: AppendStatusText must
// write the same.
func fmtStatus(g GlobalPinInfo) string {
	var b strings.Builder
	b.WriteString(g.Cid.String())
	if g.Name != "" {
		fmt.Fprintf(&b, " | %s", g.Name)
	}
	b.WriteString(":\n")
	ids := make([]string, 0, len(g.PeerMap))
	for id := range g.PeerMap {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		ni, nj := StatusTextLabel(ids[i], g.PeerMap[ids[i]].PeerName), StatusTextLabel(ids[j], g.PeerMap[ids[j]].PeerName)
		if ni != nj {
			return ni < nj
		}
		return ids[i] < ids[j]
	})
	for _, id := range ids {
		p := g.PeerMap[id]
		ts, _ := p.TS.MarshalText()
		fmt.Fprintf(&b, "    > %-20s : %s | %s | Attempts: %d | Priority: %t", StatusTextLabel(id, p.PeerName), strings.ToUpper(p.Status.String()), ts, p.AttemptCount, p.PriorityPin)
		if p.Error != "" {
			fmt.Fprintf(&b, " | %s", strings.ReplaceAll(strings.TrimSpace(p.Error), "\n", " "))
		}
		if !p.Updated.IsZero() {
			u, _ := p.Updated.MarshalText()
			fmt.Fprintf(&b, " | Updated: %s", u)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestAppendStatusTextMatchesFmt(t *testing.T) {
	c, err := DecodeCid("bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq")
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 12, 2, 14, 39, 13, 383201918, time.UTC)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	zone := time.FixedZone("x", 3600)
	cases := []GlobalPinInfo{
		{Cid: c},
		{Cid: c, Name: "a name | with ünïcode", PeerMap: map[string]PinInfoShort{
			"12D3KooWB": {PeerName: "peer-b", Status: TrackerStatusPinned, TS: ts, AttemptCount: 3, PriorityPin: true},
			"12D3KooWA": {PeerName: "peer-b", Status: TrackerStatusRemote, TS: ts.In(zone), Updated: ts},
			"12D3KooWC": {Status: TrackerStatusPinError, TS: far, Error: " failed\nto fetch\n", Updated: far},
			"12D3KooWD": {PeerName: "ñame-longer-than-twenty-runes", Status: TrackerStatusClusterError},
			"12D3KooWE": {PeerName: "ü", Status: TrackerStatusPinQueued, TS: time.Unix(0, 0)},
		}},
	}
	for i, g := range cases {
		if got, want := string(AppendStatusText(nil, g)), fmtStatus(g); got != want {
			t.Errorf("case %d:\n got %q\nwant %q", i, got, want)
		}
	}
}
