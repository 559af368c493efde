package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// localFixture fills w with one pin of each case of the status rule and returns them.
func localFixture(t *testing.T, w *world) map[string]api.Cid {
	other := testPeer(t)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	cases := map[string]api.Cid{}
	add := func(name string, opts api.PinOptions, allocs []peer.ID) api.Cid {
		c := testCid(t, name)
		p := api.NewPin(c, opts)
		p.Name, p.Allocations, p.Timestamp = name, allocs, ts
		w.store.put(t, p)
		cases[name] = c
		return c
	}
	w.ipfs.pinned = append(w.ipfs.pinned, add("pinned-everywhere", api.PinOptions{}, nil))
	w.ipfs.pinned = append(w.ipfs.pinned, add("pinned-here", api.PinOptions{Metadata: map[string]string{"k": "v\"q"}, Origins: []string{"/ip4/1.2.3.4"}}, []peer.ID{other, w.self}))
	add("unexpectedly-unpinned", api.PinOptions{}, []peer.ID{w.self})
	add("remote", api.PinOptions{}, []peer.ID{other})
	q := add("queued", api.PinOptions{}, []peer.ID{w.self})
	w.tracker.inFlight[q.KeyString()] = api.PinInfoShort{Status: api.TrackerStatusPinQueued, AttemptCount: 1, PriorityPin: true, TS: ts}
	u := add("unpinning-remote", api.PinOptions{}, []peer.ID{other})
	w.tracker.inFlight[u.KeyString()] = api.PinInfoShort{Status: api.TrackerStatusUnpinning, TS: ts}
	e := add("stale-inflight-remote", api.PinOptions{}, []peer.ID{other})
	w.tracker.inFlight[e.KeyString()] = api.PinInfoShort{Status: api.TrackerStatusPinError, TS: ts}
	for k, v := range w.tracker.inFlight {
		w.tracker.pinned[k] = v.Status == api.TrackerStatusPinned
	}
	for _, c := range w.ipfs.pinned {
		w.tracker.pinned[c.KeyString()] = true
	}
	return cases
}

// The one-pass local status gives what the per-pin path (the tracker's Status for each pin)
// gives, as values and as JSON, without a tracker or IPFS request per pin.
//
// Beyond the statuses kept by CID, items are kept by status value (maxInFlightClasses) and
// only those of no kept value are asked of the tracker: with one status kept by CID and one
// value for the rest, the fixture's three in-flight pins give one default value and one
// overflowing item.
func TestLocalStatusMatchesPerPinStatus(t *testing.T) {
	for _, tc := range []struct{ kept, classes, asks int }{
		{maxInFlightKept, maxInFlightClasses, 0}, // all kept by CID
		{1, maxInFlightClasses, 0},               // the other two by value
		{1, 1, 8},                                // one by value, one asked in each of the 8 passes
		{1, 0, 16},                               // both asked
	} {
		t.Run(fmt.Sprintf("kept=%d,classes=%d", tc.kept, tc.classes), func(t *testing.T) {
			defer func(k, c int) { maxInFlightKept, maxInFlightClasses = k, c }(maxInFlightKept, maxInFlightClasses)
			maxInFlightKept, maxInFlightClasses = tc.kept, tc.classes
			testLocalStatusMatches(t, tc.asks)
		})
	}
}

func testLocalStatusMatches(t *testing.T, wantAsks int) {
	ctx := context.Background()
	w := newWorld(t)
	cases := localFixture(t, w)
	want := map[string]api.PinInfoShort{}
	var cids []api.Cid
	for _, c := range cases {
		cids = append(cids, c)
	}
	err := w.svc.StatusAll(ctx, 0, false, cids, func(g api.GlobalPinInfo) error { // per pin (not local: no fast path)
		want[g.Cid.String()] = g.PeerMap[w.self.String()]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.tracker.statuses = 0
	for _, filter := range []api.TrackerStatus{0, api.TrackerStatusPinned, api.TrackerStatusRemote | api.TrackerStatusQueued, api.TrackerStatusError} {
		var values, lines [][]byte
		err := w.svc.StatusAll(ctx, filter, true, nil, func(g api.GlobalPinInfo) error {
			b, err := json.Marshal(g)
			values = append(values, b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.svc.StatusLocalJSON(ctx, filter, func(l []byte) error { lines = append(lines, bytes.Clone(l)); return nil }); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range cases {
			if want[c.String()].Status.Match(filter) {
				n++
			}
		}
		if len(values) != n || len(lines) != n {
			t.Fatalf("filter %v: %d values and %d lines, want %d", filter, len(values), len(lines), n)
		}
		for i := range values {
			var g, gl api.GlobalPinInfo
			if err := json.Unmarshal(values[i], &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(lines[i], &gl); err != nil {
				t.Fatalf("line %s: %v", lines[i], err)
			}
			vs, ls := g.PeerMap[w.self.String()], gl.PeerMap[w.self.String()]
			ws := want[g.Cid.String()]
			if vs.Status != ws.Status || vs.AttemptCount != ws.AttemptCount || vs.PriorityPin != ws.PriorityPin || vs.PeerName != "self" || vs.IPFS != "ipfs-self" {
				t.Errorf("%s (%s): value %+v, per pin %+v", g.Name, g.Cid, vs, ws)
			}
			// The JSON line and the value are the same status, field for field.
			vs.TS, ls.TS = time.Time{}, time.Time{}
			g.PeerMap, gl.PeerMap = nil, nil
			if fmt.Sprint(vs) != fmt.Sprint(ls) || fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", gl) {
				t.Errorf("line %s\n  differs from value %s", lines[i], values[i])
			}
		}
	}
	// 8 passes: 4 filters, values and JSON.
	if w.tracker.statuses != wantAsks {
		t.Errorf("asked the tracker %d times for in-flight pins, want %d", w.tracker.statuses, wantAsks)
	}
	if w.ipfs.ls != 6 { // once per pass that may show a settled status (filters 0, pinned and error; two paths each)
		t.Errorf("pin ls ran %d times, want 6", w.ipfs.ls)
	}
}

// When the IPFS node cannot list its pins, settled statuses are cluster_error with the reason;
// in-flight and remote ones are still known.
func TestLocalStatusIPFSDown(t *testing.T) {
	w := newWorld(t)
	cases := localFixture(t, w)
	w.ipfs.lsErr = errors.New("connection refused")
	got := map[string]api.PinInfoShort{}
	err := w.svc.StatusLocalJSON(context.Background(), 0, func(l []byte) error {
		var g api.GlobalPinInfo
		if err := json.Unmarshal(l, &g); err != nil {
			return err
		}
		got[g.Name] = g.PeerMap[w.self.String()]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Fatalf("%d statuses, want %d", len(got), len(cases))
	}
	for name, want := range map[string]api.TrackerStatus{"pinned-here": api.TrackerStatusClusterError, "remote": api.TrackerStatusRemote, "queued": api.TrackerStatusPinQueued} {
		if got[name].Status != want {
			t.Errorf("%s: %v, want %v", name, got[name].Status, want)
		}
	}
	if e := got["pinned-here"].Error; e == "" {
		t.Error("cluster_error without the reason")
	}
}

// recover (all, local) asks for a state sync, which re-queues the pins the IPFS node lost
// (unexpectedly_unpinned: the tracker holds no item for them), as IPFS Cluster's recover
// handles them (QA: they were left as they were until the next periodic sync); the errored
// items are retried as before.
func TestRecoverAllLocalAsksForAStateSync(t *testing.T) {
	w := newWorld(t)
	localFixture(t, w)
	asked := 0
	w.svc.StatusService.d.Resync = func() { asked++ }
	var got []string
	if _, err := w.svc.RecoverAllLocal(context.Background(), func(g api.GlobalPinInfo) error {
		got = append(got, g.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if asked != 1 || !slices.Contains(got, "stale-inflight-remote") {
		t.Fatalf("state syncs asked %d, recovered %v: want one sync and the errored item", asked, got)
	}
}
