package rest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

var fuzzNow = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func FuzzPinOptionsQuery(f *testing.F) {
	for _, s := range []string{"", "replication=2", "replication-min=3&replication-max=2", "mode=direct&name=x",
		"expire-in=1h", "expire-in=-1s", "expire-at=2030-01-01T00:00:00Z", "meta-a=b&meta-=c", "user-allocations=,x,",
		"pin-update=bafkqaaa", "origins=a,,b", "replication=-2", "replication-min=-1&replication-max=4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		o, err := api.PinOptionsFromQuery(q, fuzzNow)
		if err != nil {
			if !errors.Is(err, api.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// What was accepted encodes back to the same options.
		o2, err := api.PinOptionsFromQuery(o.ToQuery(), fuzzNow)
		if err != nil {
			t.Fatalf("re-decoding %v: %v", o.ToQuery(), err)
		}
		if o2.Name != o.Name || o2.Mode != o.Mode || o2.ReplicationFactorMin != o.ReplicationFactorMin ||
			o2.ReplicationFactorMax != o.ReplicationFactorMax || !o2.ExpireAt.Equal(o.ExpireAt) || len(o2.Metadata) != len(o.Metadata) {
			t.Fatalf("round trip: %+v != %+v", o2, o)
		}
	})
}

func FuzzAddParamsQuery(f *testing.F) {
	for _, s := range []string{"", "format=car", "layout=trickle&chunker=rabin-1-2-3", "cid-version=2", "hash=blake2b-256",
		"progress=true&raw-leaves=1", "chunker=size-", "no-pin=maybe", "format=tar", "replication-min=5&replication-max=1",
		"shard=true&shard-size=1000", "shard=1&shard-size=262144&chunker=rabin-10-20-30", "shard=true&local=true", "shard-size=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		p, err := api.AddParamsFromQuery(q, fuzzNow)
		if err != nil {
			if !errors.Is(err, api.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted params do not validate: %v", err)
		}
	})
}

// FuzzPinTypeFilter: GET /allocations?filter= (IPFS Cluster's pin type filter).
func FuzzPinTypeFilter(f *testing.F) {
	for _, s := range []string{"", "all", "pin,meta-pin", "shard-pin, clusterdag-pin", "meta", "bogus", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		set, err := api.ParsePinTypes(raw)
		if err != nil {
			if !errors.Is(err, api.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for typ := range set {
			if !slices.Contains(api.PinTypes, typ) {
				t.Fatalf("filter %q yields unknown type %q", raw, typ)
			}
		}
	})
}

func FuzzStatusFilter(f *testing.F) {
	for _, s := range []string{"", "pinned", "error,queued", "pin_error, unpin_error", "bogus", ",,", "UNEXPECTED_UNPINNED"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		filter, err := api.ParseTrackerStatusFilter(s)
		if err != nil {
			if !errors.Is(err, api.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if filter == 0 {
			return
		}
		back, err := api.ParseTrackerStatusFilter(filter.String())
		if err != nil || back != filter {
			t.Fatalf("%q -> %v (%q) -> %v, %v", s, filter, filter.String(), back, err)
		}
	})
}

// FuzzPinHandler drives POST /pins/{cid}?query and GET /pins?query through the whole handler:
// nothing panics, and every answer is a 200 or a 4xx JSON api.Error.
func FuzzPinHandler(f *testing.F) {
	c := testCid("seed").String()
	for _, s := range [][2]string{{c, ""}, {c, "replication-min=3&replication-max=2"}, {"notacid", "mode=direct"},
		{c, "expire-in=-1h"}, {c, "expire-in=later"}, {c, "mode=x"}, {"", ""}, {c + "/recover", "local=true"},
		{"ipfs/" + c + "/a", "name=n"}, {c, "filter=bogus&cids=x"}, {"%zz", "a=%zz"}} {
		f.Add(s[0], s[1])
	}
	s, _ := newTestServer(f, nil)
	h := s.Handler()
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		for _, req := range []struct{ method, target string }{
			{"POST", "/pins/" + path + "?" + rawQuery},
			{"GET", "/pins?" + rawQuery},
			{"POST", "/add?" + rawQuery},
		} {
			u, err := url.ParseRequestURI(req.target)
			if err != nil {
				continue
			}
			r := &http.Request{Method: req.method, URL: u, Header: http.Header{}, Host: "example.com", RequestURI: req.target, Body: http.NoBody}
			r = r.WithContext(t.Context())
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			checkAnswer(t, req.method+" "+req.target, w)
		}
	})
}

func checkAnswer(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	resp := w.Result()
	body, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode == http.StatusOK:
		return
	case resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusMovedPermanently:
		return // ServeMux's path cleaning
	case resp.StatusCode < 400 || resp.StatusCode >= 500:
		t.Fatalf("%s: status %d: %s", what, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil || e.Code != resp.StatusCode || strings.TrimSpace(e.Message) == "" {
		t.Fatalf("%s: body %q is not an api.Error for %d (%v)", what, body, resp.StatusCode, err)
	}
}

// The lookup parameters of GET /allocations: any query string is refused with ErrInvalid or
// gives a valid query that checks any pin JSON without panicking.
func FuzzPinQuery(f *testing.F) {
	for _, s := range []string{"", "name=a", "name=a&name-match=iexact", "meta-team=web&meta-env=prod",
		"name-match=partial", "meta-=x", "meta-a=1&meta-a=2", "name=%00&meta-%00=%00"} {
		f.Add(s, `{"cid":"x","name":"A","metadata":{"team":"web"}}`)
	}
	f.Fuzz(func(t *testing.T, raw, pinJSON string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := pinQueryOf(v)
		if err != nil {
			if !errors.Is(err, api.ErrInvalid) {
				t.Fatalf("%q: error %v does not wrap ErrInvalid", raw, err)
			}
			return
		}
		if _, err := q.MatchesJSON([]byte(pinJSON)); err != nil && !errors.Is(err, api.ErrInvalid) {
			t.Fatalf("MatchesJSON(%q): %v", pinJSON, err)
		}
	})
}
