package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

func TestPinWithOptions(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	c := testCid("a")
	q := url.Values{"replication-min": {"2"}, "replication-max": {"3"}, "name": {"n"}, "mode": {"direct"},
		"user-allocations": {f.self.String()}, "expire-in": {"1h"}, "meta-k": {"v"}}
	before := time.Now()
	p := decode[api.Pin](t, do(t, h, "POST", "/pins/"+c.String()+"?"+q.Encode(), nil), 200)
	if p.Cid != c || p.MaxDepth != 0 || p.Name != "n" || p.Metadata["k"] != "v" {
		t.Fatalf("pin = %+v", p)
	}
	opts := f.lastCall(t, "Pin").Args[1].(api.PinOptions)
	if opts.ReplicationFactorMin != 2 || opts.ReplicationFactorMax != 3 || opts.Mode != api.PinModeDirect ||
		len(opts.UserAllocations) != 1 || opts.ExpireAt.Before(before.Add(time.Hour)) {
		t.Fatalf("Pin options = %+v", opts)
	}
}

func TestPinErrors(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	c := testCid("a").String()
	tests := []struct {
		name, method, target string
		status               int
		msg                  string
	}{
		{"bad cid", "POST", "/pins/notacid", 400, `"notacid" is not a valid CID`},
		{"bad cid status", "GET", "/pins/notacid", 400, `"notacid"`},
		{"bad cid unpin", "DELETE", "/pins/notacid", 400, `"notacid"`},
		{"bad cid recover", "POST", "/pins/notacid/recover", 400, `"notacid"`},
		{"bad cid allocation", "GET", "/allocations/notacid", 400, `"notacid"`},
		{"min>max", "POST", "/pins/" + c + "?replication-min=3&replication-max=2", 400, "greater than"},
		{"bad int", "POST", "/pins/" + c + "?replication=two", 400, `replication="two" is not an integer`},
		{"bad expire-in", "POST", "/pins/" + c + "?expire-in=soon", 400, "expire-in"},
		{"negative expire-in", "POST", "/pins/" + c + "?expire-in=-1h", 400, "must be positive"},
		{"bad expire-at", "POST", "/pins/" + c + "?expire-at=tomorrow", 400, "expire-at"},
		{"get batch", "GET", "/pins/batch", 405, "not allowed on /pins/batch"},
		{"delete batch", "DELETE", "/pins/batch", 405, "not allowed on /pins/batch"},
		{"empty meta key", "POST", "/pins/" + c + "?meta-=x", 400, "metadata key is empty"},
		{"past expire-at", "POST", "/pins/" + c + "?expire-at=2020-01-02T03:04:05Z", 400, "is not in the future"},
		{"past expire-at of a path", "POST", "/pins/ipfs/" + c + "?expire-at=2020-01-02T03:04:05Z", 400, "is not in the future"},
		{"unknown mode", "POST", "/pins/" + c + "?mode=sideways", 400, "unknown pin mode"},
		{"bad allocation", "POST", "/pins/" + c + "?user-allocations=xyz", 400, "user-allocations"},
		{"bad pin-update", "POST", "/pins/" + c + "?pin-update=xyz", 400, "pin-update"},
		{"path bad mode", "POST", "/pins/ipfs/" + c + "/a?mode=x", 400, "unknown pin mode"},
		{"unknown filter", "GET", "/pins?filter=pinned,bogus", 400, `unknown status filter "bogus"`},
		{"bad cids", "GET", "/pins?cids=" + c + ",nope", 400, `cids: invalid request: "nope"`},
		{"bad local", "GET", "/pins?local=yes!", 400, "local"},
		{"bad local one", "GET", "/pins/" + c + "?local=2", 400, "local"},
		{"bad local recover", "POST", "/pins/recover?local=x", 400, "local"},
		{"bad local recover one", "POST", "/pins/" + c + "/recover?local=x", 400, "local"},
		{"unpin absent", "DELETE", "/pins/" + c, 404, "is not pinned"},
		{"allocation absent", "GET", "/allocations/" + c, 404, "not in the pinset"},
		{"bad allocations filter", "GET", "/allocations?filter=bogus", 400, "unknown pin type filter"},
		{"bad name match", "GET", "/allocations?name=a&name-match=fuzzy", 400, "name match"},
		{"match without name", "GET", "/allocations?name-match=partial", 400, "needs a name"},
		{"repeated meta", "GET", "/allocations?meta-a=1&meta-a=2", 400, "meta-a is given 2 times"},
		{"empty meta key", "GET", "/allocations?meta-=1", 400, "metadata key is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, do(t, h, tt.method, tt.target, nil), tt.status, tt.msg)
		})
	}
	for _, m := range []string{"Pin", "PinPath", "StatusAll", "StatusLocalJSON", "Status", "Recover", "RecoverAll"} {
		if f.called(m) {
			t.Errorf("%s was called for a bad request", m)
		}
	}
}

func TestPinUnpinGetStatusRecover(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	c := testCid("a")
	decode[api.Pin](t, do(t, h, "POST", "/pins/"+c.String(), nil), 200)
	if p := decode[api.Pin](t, do(t, h, "GET", "/allocations/"+c.String(), nil), 200); p.Cid != c {
		t.Fatalf("GET /allocations/{cid} = %+v", p)
	}
	g := decode[api.GlobalPinInfo](t, do(t, h, "GET", "/pins/"+c.String()+"?local=true", nil), 200)
	if g.Cid != c || g.PeerMap[f.self.String()].Status != api.TrackerStatusPinned {
		t.Fatalf("GET /pins/{cid} = %+v", g)
	}
	if args := f.lastCall(t, "Status").Args; args[1] != true {
		t.Fatalf("Status local = %v", args[1])
	}
	decode[api.GlobalPinInfo](t, do(t, h, "POST", "/pins/"+c.String()+"/recover?local=true", nil), 200)
	if args := f.lastCall(t, "Recover").Args; args[0] != c || args[1] != true {
		t.Fatalf("Recover args = %v", args)
	}
	if p := decode[api.Pin](t, do(t, h, "DELETE", "/pins/"+c.String(), nil), 200); p.Cid != c {
		t.Fatalf("DELETE /pins/{cid} = %+v", p)
	}
	wantError(t, do(t, h, "DELETE", "/pins/"+c.String(), nil), 404, "not pinned")

	decode[api.Pin](t, do(t, h, "POST", "/pins/ipfs/"+c.String()+"/dir/file?name=x", nil), 200)
	if args := f.lastCall(t, "PinPath").Args; args[0] != "/ipfs/"+c.String()+"/dir/file" || args[1].(api.PinOptions).Name != "x" {
		t.Fatalf("PinPath args = %v", args)
	}
	decode[api.Pin](t, do(t, h, "DELETE", "/pins/ipns/example.com", nil), 200)
	if args := f.lastCall(t, "UnpinPath").Args; args[0] != "/ipns/example.com" {
		t.Fatalf("UnpinPath args = %v", args)
	}
	f.err = fmt.Errorf("%w: cannot resolve", api.ErrNotFound)
	wantError(t, do(t, h, "POST", "/pins/ipfs/"+c.String()+"/missing", nil), 404, "cannot resolve")
	wantError(t, do(t, h, "DELETE", "/pins/ipfs/"+c.String()+"/missing", nil), 404, "cannot resolve")
	wantError(t, do(t, h, "POST", "/pins/"+c.String(), nil), 404, "cannot resolve")
}

func TestStatusAllStream(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	f.nItems = 2000
	a, b := testCid("a"), testCid("b")
	ls := lines(t, do(t, h, "GET", "/pins?local=true&filter=error,pinned&cids="+a.String()+","+b.String(), nil), 200)
	if len(ls) != 2000 {
		t.Fatalf("%d lines, want 2000", len(ls))
	}
	for i, l := range ls {
		var g api.GlobalPinInfo
		if err := json.Unmarshal([]byte(l), &g); err != nil || g.Name != fmt.Sprint(i) {
			t.Fatalf("line %d = %q (%v)", i, l, err)
		}
	}
	args := f.lastCall(t, "StatusAll").Args
	if args[0] != api.TrackerStatusError|api.TrackerStatusPinned || args[1] != true || len(args[2].([]api.Cid)) != 2 {
		t.Fatalf("StatusAll args = %v", args)
	}

	// The local status of the whole pinset takes the JSON fast path, its lines written as given.
	ls = lines(t, do(t, h, "GET", "/pins?local=true&filter=pinned", nil), 200)
	if len(ls) != 2000 {
		t.Fatalf("local: %d lines, want 2000", len(ls))
	}
	if args := f.lastCall(t, "StatusLocalJSON").Args; args[0] != api.TrackerStatusPinned {
		t.Fatalf("StatusLocalJSON args = %v", args)
	}

	// An empty stream is a 200 with no lines; an error before the first item is a JSON error.
	f.nItems = 0
	if ls := lines(t, do(t, h, "GET", "/pins", nil), 200); len(ls) != 0 {
		t.Fatalf("empty stream = %v", ls)
	}
	f.nItems, f.failAt, f.streamErr = 10, 0, fmt.Errorf("%w: peers unreachable", api.ErrUnavailable)
	wantError(t, do(t, h, "GET", "/pins", nil), 503, "peers unreachable")
	wantError(t, do(t, h, "POST", "/pins/recover", nil), 503, "peers unreachable")
}

func TestRecoverAllStream(t *testing.T) {
	s, f := newTestServer(t, nil)
	f.nItems = 3
	ls := lines(t, do(t, s.Handler(), "POST", "/pins/recover?local=true", nil), 200)
	if len(ls) != 3 || f.lastCall(t, "RecoverAll").Args[0] != true {
		t.Fatalf("POST /pins/recover = %v", ls)
	}
}

func TestAllocationsStream(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	f.nItems = 2000
	for _, filter := range []string{"", "?filter=pin", "?filter=all", "?filter=meta-pin,pin"} {
		ls := lines(t, do(t, h, "GET", "/allocations"+filter, nil), 200)
		if len(ls) != 2000 {
			t.Fatalf("%q: %d lines, want 2000", filter, len(ls))
		}
		var p api.Pin
		if err := json.Unmarshal([]byte(ls[1999]), &p); err != nil || p.Name != "1999" {
			t.Fatalf("last line %q: %v", ls[1999], err)
		}
	}
	if ls := lines(t, do(t, h, "GET", "/allocations?filter=shard", nil), 200); len(ls) != 0 {
		t.Fatalf("filter=shard gave %d lines", len(ls))
	}
	// Lookups by name (the fake names pin i "i") go to FindPinsJSON with the query.
	if f.called("FindPinsJSON") {
		t.Fatal("a plain listing used FindPinsJSON")
	}
	for q, want := range map[string]int{"?name=1999": 1, "?name=199&name-match=partial": 12, "?name=x": 0} {
		if ls := lines(t, do(t, h, "GET", "/allocations"+q, nil), 200); len(ls) != want {
			t.Fatalf("%s: %d lines, want %d", q, len(ls), want)
		}
	}
	f.failAt, f.streamErr = 0, errors.New("badger closed")
	wantError(t, do(t, h, "GET", "/allocations", nil), 500, "badger closed")
}

// Streams that fail midway report the error in the X-Stream-Error trailer, over real HTTP.
func TestStreamErrorTrailer(t *testing.T) {
	s, f := newTestServer(t, nil)
	base := startServer(t, s)
	f.nItems, f.failAt, f.streamErr = 100, 50, errors.New("peer went away\nmidway")
	for _, tc := range []struct{ method, path string }{
		{"GET", "/pins"}, {"GET", "/allocations"}, {"POST", "/pins/recover"}, {"GET", "/peers"},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := resp.Trailer[streamErrorTrailer]; !ok {
			t.Errorf("%s %s: Trailer not declared: %v", tc.method, tc.path, resp.Header)
		}
		ls := lines(t, resp, 200)
		if len(ls) != 50 {
			t.Errorf("%s %s: %d lines, want 50", tc.method, tc.path, len(ls))
		}
		if got := resp.Trailer.Get(streamErrorTrailer); got != "peer went away midway" {
			t.Errorf("%s %s: X-Stream-Error = %q", tc.method, tc.path, got)
		}
		if got := resp.Trailer.Get(streamErrorCodeTrailer); got != "500" {
			t.Errorf("%s %s: X-Stream-Error-Code = %q", tc.method, tc.path, got)
		}
	}
	// The code is the status the error maps to: a full queue is 503, as before a stream starts.
	f.streamErr = fmt.Errorf("%w: pin %w (pin_tracker.max_pin_queue_size=1)", api.ErrUnavailable, api.ErrQueueFull)
	resp, err := http.Get(base + "/allocations")
	if err != nil {
		t.Fatal(err)
	}
	lines(t, resp, 200)
	if got := resp.Trailer.Get(streamErrorCodeTrailer); got != "503" {
		t.Errorf("full queue: X-Stream-Error-Code = %q, want 503", got)
	}
	// A complete stream has an empty trailer.
	f.failAt = -1
	resp, err = http.Get(base + "/pins")
	if err != nil {
		t.Fatal(err)
	}
	if ls := lines(t, resp, 200); len(ls) != 100 || resp.Trailer.Get(streamErrorTrailer) != "" {
		t.Fatalf("%d lines, trailer %q", len(ls), resp.Trailer.Get(streamErrorTrailer))
	}
}

// A slow stream's lines reach the client before the stream ends.
func TestStreamFlushesPeriodically(t *testing.T) {
	s, f := newTestServer(t, nil)
	base := startServer(t, s)
	release := make(chan struct{})
	f.nItems = 2
	f.failAt = -1
	slow := &slowCluster{fakeCluster: f, release: release}
	s.svc.Status = slow
	resp, err := http.Get(base + "/pins")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 1)
	got := make(chan error, 1)
	go func() { _, err := resp.Body.Read(buf); got <- err }()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first line not flushed while the stream is still open")
	}
	close(release)
	rest := readAll(t, resp)
	if strings.Count(string(buf)+rest, "\n") != 2 {
		t.Fatalf("body %q", string(buf)+rest)
	}
}

// slowCluster's StatusAll sends one item, then waits for release before the next.
type slowCluster struct {
	*fakeCluster
	release chan struct{}
}

func (s *slowCluster) StatusAll(ctx context.Context, _ api.TrackerStatus, _ bool, _ []api.Cid, fn func(api.GlobalPinInfo) error) error {
	if err := fn(s.gpi(testCid("1"), "1")); err != nil {
		return err
	}
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return fn(s.gpi(testCid("2"), "2"))
}

// endlessCluster streams status items until the request context ends, then reports why.
type endlessCluster struct {
	*fakeCluster
	ended chan error
}

func (e *endlessCluster) StatusAll(ctx context.Context, _ api.TrackerStatus, _ bool, _ []api.Cid, fn func(api.GlobalPinInfo) error) error {
	g := e.gpi(testCid("x"), "x")
	for {
		if err := ctx.Err(); err != nil {
			e.ended <- err
			return err
		}
		if err := fn(g); err != nil {
			e.ended <- err
			return err
		}
	}
}

// A client that goes away ends the stream on the server.
func TestStreamClientDisconnect(t *testing.T) {
	s, f := newTestServer(t, nil)
	base := startServer(t, s)
	ec := &endlessCluster{fakeCluster: f, ended: make(chan error, 1)}
	s.svc.Status = ec
	resp, err := http.Get(base + "/pins")
	if err != nil {
		t.Fatal(err)
	}
	var g api.GlobalPinInfo
	if err := json.NewDecoder(resp.Body).Decode(&g); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case err := <-ec.ended:
		if err == nil {
			t.Fatal("stream ended without an error")
		}
	case <-timeout(t):
		t.Fatal("stream still running after the client left")
	}
}
