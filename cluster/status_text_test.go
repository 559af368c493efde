package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// passStamps are the RFC 3339 times in a status text; sameText replaces those at or after
// start (stamped by a pass, so different in each) with NOW.
var passStamps = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)

func sameText(t *testing.T, s string, start time.Time) string {
	t.Helper()
	return passStamps.ReplaceAllStringFunc(s, func(ts string) string {
		v, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("%q in a status text: %v", ts, err)
		}
		if !v.Before(start) {
			return "NOW"
		}
		return ts
	})
}

// textOfJSON renders JSON status lines as the CLI renders the items it decodes.
func textOfJSON(t *testing.T, lines [][]byte) string {
	t.Helper()
	var b []byte
	for _, l := range lines {
		var g api.GlobalPinInfo
		if err := json.Unmarshal(l, &g); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		b = api.AppendStatusText(b, g)
	}
	return string(b)
}

// TestStatusTextMatchesJSON: the text blocks the daemon renders (GET /pins with Accept:
// text/plain) are what the CLI writes from the JSON items, global from the replicas and
// local, for every filter; names that need unescaping included. The JSON lines are
// canonical, as application/x-ndjson declares them.
//
// The members' IDs are random, so this peer's key falls anywhere among theirs in a line's
// peer_map: worlds are made until it has been first and last.
func TestStatusTextMatchesJSON(t *testing.T) {
	seen := map[int]bool{}
	for round := 0; round < 200 && !(seen[0] && seen[3]); round++ {
		seen[statusTextMatchesJSON(t)] = true
	}
	if !seen[0] || !seen[3] {
		t.Fatalf("this peer's key was never both first and last: %v", seen)
	}
}

// statusTextMatchesJSON checks one world and returns how many members' IDs sort before this
// peer's.
func statusTextMatchesJSON(t *testing.T) int {
	w, fresh, stale, silent, _, _ := replicaWorld(t)
	// Named members sort around this peer ("self"): its line goes between them (fresh is
	// zeta by its heartbeats, stale alpha by the roster).
	m := w.svc.StatusService.d.Members.(fakeMembers)
	m.names = map[peer.ID]string{fresh: "not shown: its heartbeats named it", stale: "alpha"}
	w.svc.StatusService.d.Members = m
	odd := api.NewPin(testCid(t, "odd name"), api.PinOptions{Name: "tab\there \"q\" \\ <ü>"})
	w.store.put(t, odd)
	w.tracker.inFlight[odd.Cid.KeyString()] = api.PinInfoShort{Status: api.TrackerStatusPinError, Error: " no\nway ", AttemptCount: 2,
		TS: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))}
	ctx := context.Background()
	start := time.Now()
	filters := []api.TrackerStatus{0, api.TrackerStatusError, api.TrackerStatusPinned, api.TrackerStatusRemote, api.TrackerStatusPinQueued}
	type pass struct {
		name string
		json func(api.TrackerStatus, func([]byte) error) error
		text func(api.TrackerStatus, func([]byte) error) error
	}
	svc := w.svc.StatusService
	for _, p := range []pass{
		{"global", func(f api.TrackerStatus, fn func([]byte) error) error { return svc.StatusJSON(ctx, f, fn) },
			func(f api.TrackerStatus, fn func([]byte) error) error { return svc.StatusText(ctx, f, fn) }},
		{"local", func(f api.TrackerStatus, fn func([]byte) error) error { return svc.StatusLocalJSON(ctx, f, fn) },
			func(f api.TrackerStatus, fn func([]byte) error) error { return svc.StatusLocalText(ctx, f, fn) }},
	} {
		for _, filter := range filters {
			var lines [][]byte
			if err := p.json(filter, func(l []byte) error { lines = append(lines, append([]byte(nil), l...)); return nil }); err != nil {
				t.Fatal(err)
			}
			for _, l := range lines { // canonical: what encoding/json writes (GET /pins as application/x-ndjson)
				var g api.GlobalPinInfo
				if err := json.Unmarshal(l, &g); err != nil {
					t.Fatal(err)
				}
				var fast api.GlobalPinInfo // its fast path takes lines without metadata or escapes
				if plain := !strings.Contains(string(l), `"metadata":{`) && !strings.Contains(string(l), `\`); plain && !fast.DecodeLine(l) {
					t.Fatalf("the client's line decoder refuses %s", l)
				}
				if again, _ := json.Marshal(g); string(again) != string(l) {
					t.Fatalf("%s line is not canonical:\n%s\nencoding/json:\n%s", p.name, l, again)
				}
			}
			var text strings.Builder
			blocks := 0
			if err := p.text(filter, func(b []byte) error { blocks++; text.Write(b); return nil }); err != nil {
				t.Fatal(err)
			}
			if blocks != len(lines) {
				t.Fatalf("%s, filter %s: %d blocks, %d JSON lines", p.name, filter, blocks, len(lines))
			}
			got, want := sameText(t, text.String(), start), sameText(t, textOfJSON(t, lines), start)
			if got != want {
				t.Fatalf("%s, filter %s:\ntext\n%s\nfrom JSON\n%s", p.name, filter, got, want)
			}
			if filter == 0 && p.name == "global" && !regexp.MustCompile(`\n    > alpha +: [^\n]*\n    > self +: [^\n]*\n    > zeta +: `).MatchString(got) {
				t.Fatalf("this peer's line is not between alpha's and zeta's:\n%s", got)
			}
			if filter == 0 && (!strings.Contains(got, " | tab\there \"q\" \\ <ü>:\n") ||
				!strings.Contains(got, "\n    > self                 : PIN_ERROR | 2026-01-02T03:04:05.000000006+01:00 | Attempts: 2 | Priority: false | no way\n")) {
				t.Fatalf("%s: the fixture's odd name or error is missing:\n%s", p.name, got)
			}
		}
	}
	before := 0
	for _, id := range []peer.ID{fresh, stale, silent} {
		if id.String() < w.self.String() {
			before++
		}
	}
	return before
}

// TestRemoteRunsMatchJSON: with many members, the parts of those a pin is not allocated to are
// written as runs (remoteRuns); the lines stay canonical, match the general path, and the
// text matches them, whichever members hold the pin: none of the others, the first, the
// last, neighbours, ones around this peer's key, all of them, and one whose replica is stale.
// Worlds are made until this peer's key has been first and last in a peer_map; the members'
// names put its text line first ("z…"), last ("a…") and between them ("a…" and "z…").
func TestRemoteRunsMatchJSON(t *testing.T) {
	const n = 9
	seen := map[int]bool{}
	for round := 0; round < 300 && (round < 3 || !seen[0] || !seen[n]); round++ {
		seen[remoteRunsMatchJSON(t, n, []string{"z", "a", "az"}[round%3])] = true
	}
	if !seen[0] || !seen[n] {
		t.Fatalf("this peer's key was never both first and last: %v", seen)
	}
}

// remoteRunsMatchJSON checks one world of n other members named from letters (cycled) and
// returns how many of their keys sort before this peer's.
func remoteRunsMatchJSON(t *testing.T, n int, letters string) int {
	others := make([]peer.ID, n)
	for i := range others {
		others[i] = testPeer(t)
	}
	w := newWorld(t, others...)
	// The order of their keys in a peer_map: their IDs' strings.
	sorted := slices.SortedFunc(slices.Values(others), func(a, b peer.ID) int { return strings.Compare(a.String(), b.String()) })
	now := time.Now()
	d := &memDigests{metas: map[peer.ID]statusdigest.Meta{}, entries: map[peer.ID]map[string]statusdigest.Entry{}}
	for i, p := range sorted {
		d.metas[p] = statusdigest.Meta{Epoch: 1, Contiguous: 2, Heard: 2, Updated: now.Add(-time.Second),
			Peername: fmt.Sprintf("%c%d", letters[i%len(letters)], i)}
		d.entries[p] = map[string]statusdigest.Entry{}
	}
	stale := sorted[4]
	m := d.metas[stale]
	m.Updated = now.Add(-time.Hour)
	d.metas[stale] = m
	w.svc.StatusService.d.Digests = d
	w.svc.StatusService.d.Config.DigestTTL = 30 * time.Second
	selfAt, _ := slices.BinarySearchFunc(sorted, w.self, func(a, b peer.ID) int { return strings.Compare(a.String(), b.String()) })
	around := []peer.ID{w.self}
	if selfAt > 0 {
		around = append(around, sorted[selfAt-1])
	}
	if selfAt < n {
		around = append(around, sorted[selfAt])
	}
	allocs := map[string][]peer.ID{
		"self only": {w.self}, "first": {sorted[0]}, "last": {sorted[n-1]}, "neighbours": {sorted[2], sorted[3]},
		"spread": {sorted[1], sorted[5], sorted[7], w.self}, "around self": around, "stale": {stale, sorted[0]},
		"everywhere": nil,
	}
	ts := now.Add(-time.Minute).UTC()
	for name, peers := range allocs {
		c := testCid(t, name)
		p := api.NewPin(c, api.PinOptions{Name: name})
		p.Allocations = peers
		w.store.put(t, p)
		for _, m := range sorted {
			if peers == nil || slices.Contains(peers, m) {
				d.entries[m][string(c.Bytes())] = statusdigest.Entry{Cid: c.Bytes(), Status: api.TrackerStatusPinned, TS: ts, Attempts: 1}
			}
		}
	}
	ctx := context.Background()
	start := time.Now()
	svc := w.svc.StatusService
	var lines [][]byte
	if err := svc.StatusJSON(ctx, 0, func(l []byte) error { lines = append(lines, slices.Clone(l)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(allocs) {
		t.Fatalf("%d lines for %d pins", len(lines), len(allocs))
	}
	slow := map[string]string{}
	if err := svc.StatusAll(ctx, 0, false, nil, func(g api.GlobalPinInfo) error {
		b, err := json.Marshal(g)
		slow[g.Name] = sameText(t, string(b), start)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		var g api.GlobalPinInfo
		if err := json.Unmarshal(l, &g); err != nil {
			t.Fatal(err)
		}
		if again, _ := json.Marshal(g); string(again) != string(l) {
			t.Fatalf("%s: line is not canonical:\n%s\nencoding/json:\n%s", g.Name, l, again)
		}
		if got := sameText(t, string(l), start); got != slow[g.Name] {
			t.Fatalf("%s:\nStatusJSON %s\nStatusAll  %s", g.Name, got, slow[g.Name])
		}
		if len(g.PeerMap) != n+1 {
			t.Fatalf("%s: %d parts, want %d", g.Name, len(g.PeerMap), n+1)
		}
	}
	var text strings.Builder
	if err := svc.StatusText(ctx, 0, func(b []byte) error { text.Write(b); return nil }); err != nil {
		t.Fatal(err)
	}
	if got, want := sameText(t, text.String(), start), sameText(t, textOfJSON(t, lines), start); got != want {
		t.Fatalf("names %q:\ntext\n%s\nfrom JSON\n%s", letters, got, want)
	}
	return selfAt
}
