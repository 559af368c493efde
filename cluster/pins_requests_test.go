package cluster

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// A pin's Pinning Service API requests belong to that API: a re-pin through the REST API keeps
// them whatever metadata it gives (before, it replaced them: the user's remote pins vanished);
// PinRequests, the API's own commit, stores the metadata as given; a pin update does not copy
// the requests of the pin it updates.
func TestRepinKeepsPinningServiceRequests(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	c := testCid(t, "r")
	req := api.RequestMetaPrefix + "0123456789abcdef0123456789abcdef"
	withReq := map[string]string{req: `{"created":"2026-12-05T05:00:00Z"}`, api.RequestMarkerKey: "1", "team": "a"}
	if _, err := w.svc.PinRequests(ctx, c, api.PinOptions{Name: "svc", Metadata: withReq}); err != nil {
		t.Fatal(err)
	}
	p, err := w.svc.Pin(ctx, c, api.PinOptions{Name: "hand", Metadata: map[string]string{"team": "b", api.RequestMarkerKey: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	// The requests stay; the marker goes: a pin made by hand stays when its last request goes.
	want := map[string]string{req: withReq[req], "team": "b"}
	if !maps.Equal(p.Metadata, want) || p.Name != "hand" {
		t.Fatalf("re-pin: %q %v, want the requests kept, not the marker: %v", p.Name, p.Metadata, want)
	}
	if got, _ := w.svc.PinGet(ctx, c); !maps.Equal(got.Metadata, want) {
		t.Fatalf("stored: %v", got.Metadata)
	}
	if p, err = w.svc.Pin(ctx, c, api.PinOptions{}); err != nil || !maps.Equal(p.Metadata, map[string]string{req: withReq[req]}) {
		t.Fatalf("re-pin without metadata: %v %v", p.Metadata, err)
	}
	u := testCid(t, "u")
	if p, err = w.svc.Pin(ctx, u, api.PinOptions{PinUpdate: c}); err != nil || len(p.Metadata) != 0 {
		t.Fatalf("pin update copied the requests of the pin it updates: %v %v", p.Metadata, err)
	}
	if p, err = w.svc.PinRequests(ctx, c, api.PinOptions{Metadata: map[string]string{"team": "c"}}); err != nil || !maps.Equal(p.Metadata, map[string]string{"team": "c"}) {
		t.Fatalf("PinRequests removing the last request: %v %v", p.Metadata, err)
	}
	// Requests are made through the pinning service only: none comes with a new pin's
	// metadata (a forged id, a created time at the top of every listing).
	n := testCid(t, "new")
	if p, err = w.svc.Pin(ctx, n, api.PinOptions{Metadata: withReq}); err != nil || !maps.Equal(p.Metadata, map[string]string{"team": "a"}) {
		t.Fatalf("a new pin's request keys: %v %v, want them dropped", p.Metadata, err)
	}
}

// A pin whose expire_at has passed (the healer's sync has not unpinned it yet) still lets the
// Pinning Service API remove its requests, and add one: PinRequests checks an expiry only when
// it changes, and keeps the stored one (before, every write of such a pin was refused, so a
// DELETE /pins/{requestid} failed). Pin still refuses it, and so does PinRequests when it sets
// an expiry in the past.
func TestPinRequestsOnExpiredPin(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	c := testCid(t, "expired")
	req1 := api.RequestMetaPrefix + "0123456789abcdef0123456789abcdef"
	req2 := api.RequestMetaPrefix + "fedcba9876543210fedcba9876543210"
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	stored := api.NewPin(c, api.PinOptions{Name: "old", ExpireAt: past, ReplicationFactorMin: -1, ReplicationFactorMax: -1,
		Metadata: map[string]string{req1: `{"created":"2026-12-05T05:00:00Z"}`, req2: `{"created":"2026-12-05T05:01:00Z"}`}})
	w.store.put(t, stored)

	// Remove req2: the options of the stored pin, one request less.
	opts := stored.PinOptions
	opts.Metadata = map[string]string{req1: stored.Metadata[req1]}
	p, err := w.svc.PinRequests(ctx, c, opts)
	if err != nil {
		t.Fatalf("removing a request of an expired pin: %v", err)
	}
	if !p.ExpireAt.Equal(past) || !maps.Equal(p.Metadata, opts.Metadata) {
		t.Fatalf("stored %v %v, want the expiry kept and one request", p.ExpireAt, p.Metadata)
	}
	// Add one back: allowed, and the expiry stays (a request clears nothing else).
	opts.Metadata = maps.Clone(stored.Metadata)
	if p, err = w.svc.PinRequests(ctx, c, opts); err != nil || !p.ExpireAt.Equal(past) {
		t.Fatalf("adding a request to an expired pin: %v, expiry %v", err, p.ExpireAt)
	}
	// A new expiry in the past is refused, as Pin refuses it; so is a re-pin by hand that
	// keeps the passed one.
	opts.ExpireAt = past.Add(time.Minute)
	if _, err := w.svc.PinRequests(ctx, c, opts); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "expire_at") {
		t.Fatalf("PinRequests with a new expiry in the past: %v", err)
	}
	if _, err := w.svc.Pin(ctx, c, stored.PinOptions); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("Pin with a passed expiry: %v", err)
	}
	if n := len(w.commits.changes); n != 2 {
		t.Fatalf("%d commits, want the 2 request changes", n)
	}
}
