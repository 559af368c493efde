package cluster

import (
	"context"
	"maps"
	"testing"

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
