package rest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
)

func TestSimpleEndpoints(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()

	id := decode[api.ID](t, do(t, h, "GET", "/id", nil), 200)
	if id.ID != f.self || id.Peername != "fake" {
		t.Errorf("GET /id = %+v", id)
	}
	if v := decode[api.Version](t, do(t, h, "GET", "/version", nil), 200); v.Version != "0.0.1" {
		t.Errorf("GET /version = %+v", v)
	}
	if resp := do(t, h, "GET", "/health", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("GET /health = %d", resp.StatusCode)
	}
	gc := decode[api.GlobalRepoGC](t, do(t, h, "POST", "/ipfs/gc?local=true", nil), 200)
	if len(gc.PeerMap) != 1 || f.lastCall(t, "IPFSGC").Args[0] != true {
		t.Errorf("POST /ipfs/gc = %+v", gc)
	}
	if names := decode[[]string](t, do(t, h, "GET", "/monitor/metrics", nil), 200); len(names) != 2 {
		t.Errorf("GET /monitor/metrics = %v", names)
	}
	ms := decode[[]api.Metric](t, do(t, h, "GET", "/monitor/metrics/freespace", nil), 200)
	if len(ms) != 1 || ms[0].Name != "freespace" {
		t.Errorf("GET /monitor/metrics/freespace = %+v", ms)
	}
	resp := do(t, h, "GET", "/monitor/metrics/none", nil)
	if b := strings.TrimSpace(readAll(t, resp)); b != "[]" {
		t.Errorf("no metrics: body %q, want []", b)
	}
	if b := strings.TrimSpace(readAll(t, do(t, h, "GET", "/health/alerts", nil))); b != "[]" {
		t.Errorf("GET /health/alerts = %q, want []", b)
	}
	if g := decode[api.ConnectGraph](t, do(t, h, "GET", "/health/graph", nil), 200); g.ClusterID != f.self {
		t.Errorf("GET /health/graph = %+v", g)
	}
}

func TestEndpointErrors(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	f.err = fmt.Errorf("%w: pin queue is full", api.ErrUnavailable)
	for _, tc := range []struct{ method, target string }{
		{"POST", "/ipfs/gc"}, {"GET", "/monitor/metrics"}, {"GET", "/monitor/metrics/x"}, {"GET", "/health/alerts"},
		{"GET", "/health/graph"}, {"GET", "/peers"}, {"DELETE", "/peers/" + f.self.String()},
	} {
		wantError(t, do(t, h, tc.method, tc.target, nil), http.StatusServiceUnavailable, "pin queue is full")
	}
	f.err = errors.New("boom")
	wantError(t, do(t, h, "POST", "/ipfs/gc", nil), http.StatusInternalServerError, "boom")
	f.err = nil
	wantError(t, do(t, h, "POST", "/ipfs/gc?local=maybe", nil), 400, `local="maybe" is not a boolean`)
}

func TestPeers(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	f.nItems = 3
	ls := lines(t, do(t, h, "GET", "/peers", nil), 200)
	if len(ls) != 3 || !strings.Contains(ls[2], `"peername":"peer2"`) {
		t.Fatalf("GET /peers = %v", ls)
	}
	if resp := do(t, h, "DELETE", "/peers/"+f.self.String(), nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /peers = %d", resp.StatusCode)
	}
	if got := f.lastCall(t, "PeerRemove").Args[0]; got != f.self {
		t.Fatalf("PeerRemove(%v)", got)
	}
	wantError(t, do(t, h, "DELETE", "/peers/notapeer", nil), 400, `"notapeer" is not a peer ID`)
}

func TestUnknownRouteAndMethod(t *testing.T) {
	s, _ := newTestServer(t, nil)
	h := s.Handler()
	wantError(t, do(t, h, "GET", "/nope", nil), 404, "no route for GET /nope")
	wantError(t, do(t, h, "GET", "/pins/a/b/c", nil), 405, "allowed: DELETE, POST")
	wantError(t, do(t, h, "POST", "/pins/"+testCid("x").String()+"/other", nil), 404, "no route")
	wantError(t, do(t, h, "DELETE", "/pins/foo/bar", nil), 404, "no route")
	resp := do(t, h, "PUT", "/id", nil)
	if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q", allow)
	}
	wantError(t, resp, 405, "method PUT not allowed on /id")
}

func TestBasicAuth(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.BasicAuthCredentials = map[string]string{"alice": "secret"} })
	h := s.Handler()
	resp := do(t, h, "GET", "/id", nil)
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate on 401")
	}
	wantError(t, resp, 401, "basic auth")
	wantError(t, do(t, h, "GET", "/id", nil, "Authorization", basic("alice", "wrong")), 401, "wrong user or password")
	wantError(t, do(t, h, "GET", "/id", nil, "Authorization", basic("bob", "secret")), 401, "wrong user or password")
	wantError(t, do(t, h, "GET", "/nope", nil), 401, "") // no route discovery without credentials
	decode[api.ID](t, do(t, h, "GET", "/id", nil, "Authorization", basic("alice", "secret")), 200)
	if resp := do(t, h, "GET", "/health", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("GET /health without credentials = %d, want 204", resp.StatusCode)
	}
}

func basic(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func TestBodyLimit(t *testing.T) {
	s, f := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 10 })
	h := s.Handler()
	c := testCid("x").String()
	wantError(t, do(t, h, "POST", "/pins/"+c, strings.NewReader(strings.Repeat("a", 11))), 413, "max_body_bytes")
	if f.called("Pin") {
		t.Fatal("Pin called despite the body limit")
	}
	decode[api.Pin](t, do(t, h, "POST", "/pins/"+c, strings.NewReader("small")), 200)
}

func TestCORS(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) {
		c.CORSAllowedOrigins = []string{"https://ok.example"}
		c.BasicAuthCredentials = map[string]string{"u": "p"}
	})
	h := s.Handler()
	resp := do(t, h, "OPTIONS", "/pins", nil, "Origin", "https://ok.example", "Access-Control-Request-Method", "GET")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://ok.example" {
		t.Fatalf("preflight = %d %v", resp.StatusCode, resp.Header)
	}
	resp = do(t, h, "GET", "/id", nil, "Origin", "https://bad.example", "Authorization", basic("u", "p"))
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS header for a foreign origin")
	}
	resp = do(t, h, "GET", "/id", nil, "Origin", "https://ok.example", "Authorization", basic("u", "p"))
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://ok.example" {
		t.Fatalf("GET with allowed origin = %d %v", resp.StatusCode, resp.Header)
	}
}

// POST /pins/batch goes to the Ingest service, and answers 503 on a server without one.
func TestBatchNeedsIngester(t *testing.T) {
	s, f := newTestServer(t, nil)
	ls := lines(t, do(t, s.Handler(), "POST", "/pins/batch?op=pin", strings.NewReader("a\nb\n")), 200)
	if len(ls) != 1 || !strings.Contains(ls[0], `"ok":2`) || !f.called("Ingest") {
		t.Fatalf("batch answer %q", ls)
	}
	s.svc.Ingest = nil
	wantError(t, do(t, s.Handler(), "POST", "/pins/batch?op=pin", strings.NewReader("a\n")), http.StatusServiceUnavailable, "does not run batch ingest")
}
