package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// Bad options and full queues are refused before anything is allocated or stored.
func TestPinRefusesBeforeStoring(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	c := testCid(t, "p")
	if _, err := w.svc.Pin(ctx, c, api.PinOptions{ReplicationFactorMin: 3, ReplicationFactorMax: 2}); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("min > max: %v", err)
	}
	full := fmt.Errorf("%w: %w (test)", api.ErrUnavailable, api.ErrQueueFull)
	w.svc.PinService.d.Gates = []Gate{gate{}, gate{full}}
	if _, err := w.svc.Pin(ctx, c, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1}); !errors.Is(err, api.ErrQueueFull) {
		t.Fatalf("full gate: %v", err)
	}
	if len(w.commits.changes) != 0 || w.alloc.calls != 0 {
		t.Fatalf("refused pins stored %d changes, allocated %d times", len(w.commits.changes), w.alloc.calls)
	}
}

// Replication -1 (the default here) pins everywhere without asking the allocator; a factor
// asks it; a pin update keeps the options and allocations of the pin it updates.
func TestPinAllocationAndUpdate(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a := testCid(t, "a")
	p, err := w.svc.Pin(ctx, a, api.PinOptions{Name: "a"})
	if err != nil || len(p.Allocations) != 0 || w.alloc.calls != 0 {
		t.Fatalf("everywhere: %+v, %v, %d allocations asked", p, err, w.alloc.calls)
	}
	other := testPeer(t)
	w.alloc.peers = []peer.ID{other}
	b := testCid(t, "b")
	if p, err = w.svc.Pin(ctx, b, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1, Metadata: map[string]string{"x": "1"}}); err != nil || len(p.Allocations) != 1 {
		t.Fatalf("factor 1: %+v, %v", p, err)
	}
	u := testCid(t, "u")
	if p, err = w.svc.Pin(ctx, u, api.PinOptions{PinUpdate: b, Name: "u"}); err != nil {
		t.Fatal(err)
	}
	if p.Name != "u" || p.Metadata["x"] != "1" || p.ReplicationFactorMin != 1 || len(p.Allocations) != 1 {
		t.Fatalf("update: %+v", p)
	}
	if _, err := w.svc.Pin(ctx, u, api.PinOptions{PinUpdate: testCid(t, "absent")}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("update of an absent pin: %v", err)
	}
	if _, err := w.svc.Unpin(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Unpin(ctx, a); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("second unpin: %v", err)
	}
	if last := w.commits.changes[len(w.commits.changes)-1]; last.Kind != crdt.OpUnpin {
		t.Fatalf("last change %+v", last)
	}
	var n int
	if err := w.svc.PinsJSON(ctx, func([]byte) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("listing: %d pins, %v", n, err)
	}
}

// FindPinsJSON answers exact and case-insensitive names and metadata pairs from the store's
// indexes, partial names by a scan, always checking the whole query; a store without indexes
// is scanned.
func TestFindPins(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	put := func(key, name string, meta map[string]string) {
		p := api.NewPin(testCid(t, key), api.PinOptions{Name: name, Metadata: meta})
		w.store.put(t, p)
	}
	put("a", "Website", map[string]string{"team": "web"})
	put("b", "website", nil)
	put("c", "website-old", map[string]string{"team": "web", "env": "old"})
	put("d", "", map[string]string{"team": "data"})
	find := func(q api.PinQuery) (n int, err error) {
		err = w.svc.FindPinsJSON(ctx, q, func([]byte) error { n++; return nil })
		return n, err
	}
	for _, tc := range []struct {
		q       api.PinQuery
		want    int
		indexed bool
	}{
		{api.PinQuery{Name: "website"}, 1, true},
		{api.PinQuery{Name: "WEBSITE", NameMatch: api.MatchIExact}, 2, true},
		{api.PinQuery{Name: "site", NameMatch: api.MatchPartial}, 3, false},
		{api.PinQuery{Name: "SITE", NameMatch: api.MatchIPartial}, 3, false},
		{api.PinQuery{Name: "SITE", NameMatch: api.MatchPartial}, 0, false},
		{api.PinQuery{Meta: map[string]string{"team": "web"}}, 2, true},
		{api.PinQuery{Meta: map[string]string{"team": "web", "env": "old"}}, 1, true},
		{api.PinQuery{Name: "old", NameMatch: api.MatchPartial, Meta: map[string]string{"team": "web"}}, 1, true},
		{api.PinQuery{}, 4, false},
	} {
		before := w.store.lookups
		n, err := find(tc.q)
		if err != nil || n != tc.want {
			t.Errorf("%+v: %d pins, %v; want %d", tc.q, n, err, tc.want)
		}
		if used := w.store.lookups > before; used != tc.indexed {
			t.Errorf("%+v: index used %v, want %v", tc.q, used, tc.indexed)
		}
	}
	if _, err := find(api.PinQuery{Name: "x", NameMatch: "fuzzy"}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("bad match mode: %v", err)
	}
	w.store.unindexed = true
	if n, err := find(api.PinQuery{Name: "WEBSITE", NameMatch: api.MatchIExact}); err != nil || n != 2 {
		t.Errorf("without indexes: %d, %v; want 2 by a scan", n, err)
	}
}

// An expiry at or before now is refused before anything is stored, also in a pin update.
func TestPinRefusesPastExpiry(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	c := testCid(t, "p")
	past := time.Now().Add(-time.Second)
	if _, err := w.svc.Pin(ctx, c, api.PinOptions{ExpireAt: past}); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "not in the future") {
		t.Fatalf("past expiry: %v", err)
	}
	if _, err := w.svc.Pin(ctx, c, api.PinOptions{Name: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Pin(ctx, testCid(t, "u"), api.PinOptions{PinUpdate: c, ExpireAt: past}); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("pin update with a past expiry: %v", err)
	}
	if len(w.commits.changes) != 1 {
		t.Fatalf("%d changes stored, want the one good pin", len(w.commits.changes))
	}
	// An update does not inherit an expiry that has passed (the pin it updates is expired but
	// not yet unpinned); one given with it is kept.
	w.store.put(t, api.Pin{Cid: c, Type: api.PinTypeData, PinOptions: api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, ExpireAt: past}})
	if _, err := w.svc.Pin(ctx, testCid(t, "v"), api.PinOptions{PinUpdate: c}); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "expired at") {
		t.Fatalf("update of an expired pin: %v", err)
	}
	if _, err := w.svc.Pin(ctx, testCid(t, "v"), api.PinOptions{PinUpdate: c, ExpireAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("update of an expired pin with a new expiry: %v", err)
	}
	if _, err := w.svc.Pin(ctx, testCid(t, "f"), api.PinOptions{ExpireAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("future expiry: %v", err)
	}
}
