package rest

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// textCluster is the fake with the text fast paths (TextStatus).
type textCluster struct{ *fakeCluster }

func (f textCluster) StatusText(ctx context.Context, filter api.TrackerStatus, fn func([]byte) error) error {
	f.record("StatusText", filter)
	return fn([]byte("global block\n"))
}

func (f textCluster) StatusLocalText(ctx context.Context, filter api.TrackerStatus, fn func([]byte) error) error {
	f.record("StatusLocalText", filter)
	return fn([]byte("local block\n"))
}

// TestStatusText: GET /pins with Accept: text/plain streams text blocks: from the service's
// text fast paths when it has them, rendered here from the items otherwise; any other
// Accept gets JSON.
func TestStatusText(t *testing.T) {
	s, f := newTestServer(t, nil)
	f.nItems = 3
	get := func(srv *Server, target, accept string) (string, string) {
		t.Helper()
		resp := do(t, srv.Handler(), "GET", target, nil, "Accept", accept)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s (%s): %d %s", target, accept, resp.StatusCode, b)
		}
		if v := resp.Header.Get("Vary"); v != "Accept" {
			t.Fatalf("%s: Vary %q", target, v)
		}
		return resp.Header.Get("Content-Type"), string(b)
	}
	var want []byte
	for i := range 3 {
		want = api.AppendStatusText(want, f.gpi(testCid(fmt.Sprint(i)), fmt.Sprint(i)))
	}
	for _, target := range []string{"/pins", "/pins?local=true", "/pins?fresh=true&filter=pinned"} {
		ct, got := get(s, target, "text/plain")
		if ct != api.StatusTextType || got != string(want) {
			t.Fatalf("%s: %s\n%s\nwant\n%s", target, ct, got, want)
		}
	}
	_, jsonLines := get(s, "/pins", "")
	for accept, wantType := range map[string]string{"": "application/json", "*/*": "application/json", "application/json": "application/json",
		"application/json, text/plain": "application/json", "application/x-ndjson, application/json;q=0.9": api.StatusNDJSONType} {
		if ct, got := get(s, "/pins", accept); ct != wantType || got != jsonLines || got[0] != '{' {
			t.Fatalf("Accept %q: %s %q", accept, ct, got)
		}
	}

	// A service with the text fast paths renders the whole pinset itself; CIDs asked by name
	// are rendered here.
	svc := f.services()
	svc.Status = textCluster{f}
	ts, err := NewServer(s.cfg, svc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	for target, wantText := range map[string]string{"/pins": "global block\n", "/pins?local=true&filter=error": "local block\n",
		"/pins?cids=" + testCid("0").String(): string(want)} {
		if _, got := get(ts, target, "text/plain; q=1, application/json; q=0.5"); got != wantText {
			t.Fatalf("%s: %q, want %q", target, got, wantText)
		}
	}
	if args := f.lastCall(t, "StatusLocalText").Args; args[0] != api.TrackerStatusError {
		t.Fatalf("StatusLocalText args = %v", args)
	}

	// An error before the first block is still a JSON error with its status.
	f.nItems, f.failAt, f.streamErr = 10, 0, fmt.Errorf("%w: peers unreachable", api.ErrUnavailable)
	wantError(t, do(t, s.Handler(), "GET", "/pins", nil, "Accept", "text/plain"), 503, "peers unreachable")
}
