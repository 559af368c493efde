package rest

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestServer builds a server over a fake cluster; mut adjusts the default config.
func newTestServer(t testing.TB, mut func(*Config)) (*Server, *fakeCluster) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	if mut != nil {
		mut(&cfg)
	}
	f := newFake(t)
	s, err := NewServer(cfg, f.services(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// do serves one request through h with a recorder. hdr is a list of key, value pairs.
func do(t testing.TB, h http.Handler, method, target string, body io.Reader, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

// decode reads a JSON body into a T, checking the status.
func decode[T any](t testing.TB, resp *http.Response, status int) T {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, b)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return v
}

// wantError checks resp is a JSON api.Error with status and a message containing msg.
func wantError(t testing.TB, resp *http.Response, status int, msg string) api.Error {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	e := decode[api.Error](t, resp, status)
	if e.Code != status {
		t.Errorf("code %d, want %d", e.Code, status)
	}
	if !strings.Contains(e.Message, msg) {
		t.Errorf("message %q does not contain %q", e.Message, msg)
	}
	return e
}

// lines reads an NDJSON body, checking the status.
func lines(t testing.TB, resp *http.Response, status int) []string {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != status {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, b)
	}
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// timeout fires after a generous deadline for events that should happen at once.
func timeout(t testing.TB) <-chan time.Time {
	return time.After(10 * time.Second)
}
