package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/statusdigest"
)

// memDigests is an in-memory DigestReplica.
type memDigests struct {
	metas   map[peer.ID]statusdigest.Meta
	entries map[peer.ID]map[string]statusdigest.Entry
}

func (m *memDigests) DigestMeta(p peer.ID) (statusdigest.Meta, bool, error) {
	meta, ok := m.metas[p]
	return meta, ok, nil
}

func (m *memDigests) OpenDigestReader() DigestReader { return m }

func (m *memDigests) Lookup(p peer.ID, c []byte) (statusdigest.Entry, bool, error) {
	e, ok := m.entries[p][string(c)]
	return e, ok, nil
}

func (m *memDigests) LookupIn(p peer.ID) func(c []byte, e *statusdigest.Entry) (bool, error) {
	return func(c []byte, e *statusdigest.Entry) (bool, error) {
		var found bool
		var err error
		*e, found, err = m.Lookup(p, c)
		return found, err
	}
}

func (m *memDigests) Unpins(p peer.ID, fn func(c []byte, st api.TrackerStatus) error) error {
	keys := slices.Sorted(maps.Keys(m.entries[p]))
	for _, k := range keys {
		if e := m.entries[p][k]; e.UnpinInFlight() {
			if err := fn([]byte(k), e.Status); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memDigests) Close() {}

// replicaWorld is a peer with three other members: fresh (its replica current), stale (its
// replica older than the TTL) and silent (heard of, never current yet); gone is an allocation
// that is not a member. Their heartbeats told: fresh its name (zeta) and IPFS peer ID, stale
// only its IPFS peer ID (it is shown by its ID), silent only a name that JSON escapes.
func replicaWorld(t *testing.T) (w *world, fresh, stale, silent, gone peer.ID, pins []api.Cid) {
	fresh, stale, silent, gone = testPeer(t), testPeer(t), testPeer(t), testPeer(t)
	w = newWorld(t, fresh, stale, silent)
	now := time.Now()
	d := &memDigests{metas: map[peer.ID]statusdigest.Meta{
		fresh: {Epoch: 1, Contiguous: 3, Heard: 3, Updated: now.Add(-time.Second), Peername: "zeta", IPFS: testPeer(t).String()},
		stale: {Epoch: 1, Contiguous: 3, Heard: 3, Updated: now.Add(-time.Hour), IPFS: testPeer(t).String()},
		// Heard of, never current yet (its first pull has not ended).
		silent: {Epoch: 1, Heard: 5, Peername: `<silent> "é" \`},
	}, entries: map[peer.ID]map[string]statusdigest.Entry{fresh: {}}}
	w.svc.StatusService.d.Digests = d
	w.svc.StatusService.d.Config.DigestTTL = 30 * time.Second
	everywhere, some, errored := testCid(t, "everywhere"), testCid(t, "some"), testCid(t, "errored")
	pins = []api.Cid{everywhere, some, errored}
	w.store.put(t, api.NewPin(everywhere, api.PinOptions{Name: "all"}))
	p := api.NewPin(some, api.PinOptions{})
	p.Allocations = []peer.ID{w.self, stale, gone}
	w.store.put(t, p)
	p = api.NewPin(errored, api.PinOptions{Metadata: map[string]string{"k": "v"}})
	p.Allocations = []peer.ID{fresh, silent}
	w.store.put(t, p)
	w.ipfs.pinned = []api.Cid{everywhere, some}
	ts := now.Add(-time.Minute).UTC()
	d.entries[fresh][string(everywhere.Bytes())] = statusdigest.Entry{Cid: everywhere.Bytes(), Status: api.TrackerStatusPinned, TS: ts}
	d.entries[fresh][string(errored.Bytes())] = statusdigest.Entry{Cid: errored.Bytes(), Status: api.TrackerStatusPinError, TS: ts,
		Error: `no "providers" <found>`, Attempts: 3, Priority: true}
	return w, fresh, stale, silent, gone, pins
}

// TestReplicaStatus: each other member's part comes from its replica: its entry with
// `updated`, pin_queued when it has none yet, remote when not allocated, cluster_error with
// the reason when its replica is stale or missing or it is not a member; nobody is asked.
func TestReplicaStatus(t *testing.T) {
	w, fresh, stale, silent, gone, pins := replicaWorld(t)
	got := map[api.Cid]api.GlobalPinInfo{}
	if err := w.svc.StatusAll(context.Background(), 0, false, nil, func(g api.GlobalPinInfo) error {
		got[g.Cid] = g
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if w.remote.calls != 0 {
		t.Fatalf("global status from the replicas asked %d peers", w.remote.calls)
	}
	want := map[api.Cid]map[peer.ID]api.TrackerStatus{
		pins[0]: {w.self: api.TrackerStatusPinned, fresh: api.TrackerStatusPinned, stale: api.TrackerStatusClusterError, silent: api.TrackerStatusClusterError},
		pins[1]: {w.self: api.TrackerStatusPinned, fresh: api.TrackerStatusRemote, stale: api.TrackerStatusClusterError,
			silent: api.TrackerStatusRemote, gone: api.TrackerStatusClusterError},
		pins[2]: {w.self: api.TrackerStatusRemote, fresh: api.TrackerStatusPinError, stale: api.TrackerStatusRemote, silent: api.TrackerStatusClusterError},
	}
	for c, peers := range want {
		g := got[c]
		if len(g.PeerMap) != len(peers) {
			t.Fatalf("%s: peer map %v", c, g.PeerMap)
		}
		for id, st := range peers {
			if g.PeerMap[id.String()].Status != st {
				t.Errorf("%s on %s: %+v, want %s", c, id, g.PeerMap[id.String()], st)
			}
		}
	}
	if p := got[pins[2]].PeerMap[fresh.String()]; p.Updated.IsZero() || p.AttemptCount != 3 || p.Error == "" {
		t.Errorf("fresh peer's entry: %+v", p)
	}
	if p := got[pins[0]].PeerMap[stale.String()]; p.Updated.IsZero() || p.Error == "" {
		t.Errorf("a stale part says neither how old nor why: %+v", p)
	}
	// Filtered: only the pins with an error somewhere.
	n := 0
	if err := w.svc.StatusAll(context.Background(), api.TrackerStatusPinError, false, nil, func(api.GlobalPinInfo) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("pin_error filter: %d pins, %v", n, err)
	}
}

// TestStatusJSONMatchesStatusAll: the raw JSON of the REST stream is what encoding the
// general path's items gives (times of the pass aside), for every filter.
func TestStatusJSONMatchesStatusAll(t *testing.T) {
	w, _, _, _, _, _ := replicaWorld(t)
	norm := func(b []byte) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		for k, v := range m["peer_map"].(map[string]any) {
			pm := v.(map[string]any)
			if s := pm["status"]; s == "remote" || s == "cluster_error" || k == w.self.String() {
				delete(pm, "timestamp") // stamped with the pass's time
			}
		}
		return m
	}
	for _, filter := range []api.TrackerStatus{0, api.TrackerStatusError, api.TrackerStatusPinned, api.TrackerStatusRemote, api.TrackerStatusPinQueued} {
		var fast, slow []map[string]any
		if err := w.svc.StatusJSON(context.Background(), filter, func(b []byte) error { fast = append(fast, norm(b)); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.StatusAll(context.Background(), filter, false, nil, func(g api.GlobalPinInfo) error {
			b, err := json.Marshal(g)
			slow = append(slow, norm(b))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("filter %s:\nStatusJSON %v\nStatusAll  %v", filter, fast, slow)
		}
	}
}

// TestReplicaStatusAsksWithoutDigest: a member that never published a digest (an earlier
// version during a rolling upgrade) makes global status ask every member, rather than show it
// failing.
func TestReplicaStatusAsksWithoutDigest(t *testing.T) {
	w, fresh, _, silent, _, pins := replicaWorld(t)
	delete(w.svc.StatusService.d.Digests.(*memDigests).metas, silent)
	// Only the member without a digest is asked (one request per page of CIDs); the others'
	// parts still come from their replicas. It answers pinned for whatever it is asked.
	var mu sync.Mutex
	asked := map[peer.ID]int{}
	w.remote.answer = func(to peer.ID, msg any) (any, error) {
		mu.Lock()
		asked[to]++
		mu.Unlock()
		req, ok := msg.(*messages.StatusRequest)
		if !ok {
			return nil, errFake
		}
		infos := make([]api.PinInfo, len(req.Cids))
		for i, c := range req.Cids {
			ci, _ := api.DecodeCid(c)
			infos[i] = api.PinInfo{Cid: ci, Peer: to, PinInfoShort: api.PinInfoShort{PeerName: "asked", Status: api.TrackerStatusPinned, TS: time.Now()}}
		}
		return &messages.StatusResponse{Infos: infos}, nil
	}
	g, err := w.svc.Status(context.Background(), pins[0], false)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[silent] != 1 {
		t.Fatalf("asked %v, want the member without a digest once", asked)
	}
	if g.PeerMap[silent.String()].PeerName != "asked" || g.PeerMap[fresh.String()].Updated.IsZero() {
		t.Fatalf("parts: %+v", g.PeerMap)
	}
	clear(asked)
	n := 0
	if err := w.svc.StatusAll(context.Background(), 0, false, nil, func(api.GlobalPinInfo) error { n++; return nil }); err != nil || n != len(pins) {
		t.Fatalf("status all: %d pins, %v", n, err)
	}
	if len(asked) != 1 || asked[silent] != 1 {
		t.Fatalf("status all asked %v, want the member without a digest once (one page)", asked)
	}
	clear(asked)
	if err := w.svc.StatusJSON(context.Background(), 0, func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[silent] != 1 {
		t.Fatalf("the JSON stream asked %v, want the member without a digest once", asked)
	}
}

// markAllocated marks the members an allocations span names, and sends to the general path
// (false) any span naming a non-member or a member twice.
func TestMarkAllocated(t *testing.T) {
	index := map[string]int{"A": 0, "B": 1, "C": 2}
	for _, tc := range []struct {
		span string
		ok   bool
		want []bool
	}{
		{``, true, []bool{true, true, true}},
		{`null`, true, []bool{true, true, true}},
		{` [] `, true, []bool{true, true, true}},
		{`["A","C"]`, true, []bool{true, false, true}},
		{`["self","B"]`, true, []bool{false, true, false}},
		{`["B","X"]`, false, nil},
		{`["B","B"]`, false, nil},
		{`["self","self"]`, false, nil},
		{`["A`, false, nil},
	} {
		got := make([]bool, 3)
		ok := markAllocated([]byte(tc.span), "self", index, got)
		if ok != tc.ok || (ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s: ok %v %v, want %v %v", tc.span, ok, got, tc.ok, tc.want)
		}
	}
}

// TestReplicaStatusShowsNames: a member whose heartbeats told its peername and IPFS peer ID
// is shown by them (as IPFS Cluster shows every peer's), in every part of it (an entry,
// remote, stale), in the general path, the JSON stream and the text; one whose heartbeats told
// neither (a peer of an earlier version) is shown by its ID, as before, with no IPFS peer ID.
func TestReplicaStatusShowsNames(t *testing.T) {
	w, fresh, stale, silent, _, pins := replicaWorld(t)
	metas := w.svc.StatusService.d.Digests.(*memDigests).metas
	m := metas[stale]
	m.IPFS = "" // told neither
	metas[stale] = m
	want := map[peer.ID]api.PinInfoShort{
		fresh:  {PeerName: "zeta", IPFS: metas[fresh].IPFS},
		stale:  {PeerName: stale.String()},
		silent: {PeerName: metas[silent].Peername},
	}
	ctx := context.Background()
	check := func(how string, g api.GlobalPinInfo) {
		t.Helper()
		for id, st := range want {
			got := g.PeerMap[id.String()]
			if got.PeerName != st.PeerName || got.IPFS != st.IPFS {
				t.Errorf("%s, %s on %s (%s): peername %q ipfs_peer_id %q, want %q %q", how, g.Cid, id, got.Status, got.PeerName, got.IPFS, st.PeerName, st.IPFS)
			}
		}
	}
	for _, c := range pins { // fresh has an entry, is remote, has an error entry
		g, err := w.svc.Status(ctx, c, false)
		if err != nil {
			t.Fatal(err)
		}
		check("GET /pins/{cid}", g)
	}
	if err := w.svc.StatusAll(ctx, 0, false, nil, func(g api.GlobalPinInfo) error { check("StatusAll", g); return nil }); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := w.svc.StatusJSON(ctx, 0, func(l []byte) error {
		n++
		var g api.GlobalPinInfo
		if err := json.Unmarshal(l, &g); err != nil {
			t.Fatal(err)
		}
		check("GET /pins", g)
		if again, _ := json.Marshal(g); string(again) != string(l) {
			t.Errorf("the line is not what encoding/json writes:\n%s\n%s", l, again)
		}
		return nil
	}); err != nil || n != len(pins) {
		t.Fatalf("StatusJSON: %d lines, %v", n, err)
	}
	var text strings.Builder
	if err := w.svc.StatusText(ctx, 0, func(b []byte) error { text.Write(b); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"zeta", stale.String(), metas[silent].Peername} {
		if c := strings.Count(text.String(), "\n    > "+label+" "); c != len(pins) {
			t.Errorf("text: %q is on %d lines, want %d:\n%s", label, c, len(pins), text.String())
		}
	}
}

// A CID the pinset no longer holds shows each member as its digest has it (an unpin failed
// there stays visible), unpinned otherwise, and a stale member as cluster_error; nobody is
// asked.
func TestReplicaStatusOfAnUnpinnedCid(t *testing.T) {
	w, fresh, stale, silent, _, _ := replicaWorld(t)
	gone := testCid(t, "unpinned")
	d := w.svc.StatusService.d.Digests.(*memDigests)
	d.entries[fresh][string(gone.Bytes())] = statusdigest.Entry{Cid: gone.Bytes(), Status: api.TrackerStatusUnpinError, TS: time.Now().UTC(), Error: "ipfs down"}
	g, err := w.svc.Status(context.Background(), gone, false)
	if err != nil {
		t.Fatal(err)
	}
	if w.remote.calls != 0 {
		t.Fatalf("asked %d peers", w.remote.calls)
	}
	want := map[peer.ID]api.TrackerStatus{fresh: api.TrackerStatusUnpinError, stale: api.TrackerStatusClusterError, silent: api.TrackerStatusClusterError}
	for id, st := range want {
		if got := g.PeerMap[id.String()]; got.Status != st {
			t.Errorf("%s: %+v, want %s", id, got, st)
		}
	}
	if p := g.PeerMap[fresh.String()]; p.Error != "ipfs down" || p.PeerName != "zeta" {
		t.Errorf("the failed unpin's part: %+v", p)
	}
	// Without an entry, a current member has unpinned it.
	delete(d.entries[fresh], string(gone.Bytes()))
	if g, err = w.svc.Status(context.Background(), gone, false); err != nil || g.PeerMap[fresh.String()].Status != api.TrackerStatusUnpinned {
		t.Fatalf("no entry: %+v, %v", g.PeerMap[fresh.String()], err)
	}
}

// A member without a digest that does not answer is asked once per pass, not once per page
// (a stopped follower would cost a request timeout per page), and shows cluster_error.
func TestAskedMemberThatFailsIsAskedOncePerPass(t *testing.T) {
	w, _, _, silent, _, _ := replicaWorld(t)
	delete(w.svc.StatusService.d.Digests.(*memDigests).metas, silent)
	for i := range statusPage + 10 {
		w.store.put(t, api.NewPin(testCid(t, fmt.Sprint("more", i)), api.PinOptions{}))
	}
	var mu sync.Mutex
	asked := 0
	w.remote.answer = func(to peer.ID, msg any) (any, error) {
		mu.Lock()
		asked++
		mu.Unlock()
		return nil, errors.New("did not answer")
	}
	n, errs := 0, 0
	if err := w.svc.StatusAll(context.Background(), 0, false, nil, func(g api.GlobalPinInfo) error {
		n++
		if p := g.PeerMap[silent.String()]; p.Status == api.TrackerStatusClusterError && p.Error == "did not answer" {
			errs++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if asked != 1 || n < statusPage+10 || errs != n {
		t.Fatalf("asked %d times for %d pins (%d showing the failure), want once", asked, n, errs)
	}
}
