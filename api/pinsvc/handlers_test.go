package pinsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

func TestAddGetDelete(t *testing.T) {
	e := newEnv(t)
	c := mkCid(t, 1)
	ps := e.add(Pin{Cid: c.String(), Name: "photos", Origins: []string{"/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"}, Meta: map[string]string{"app": "x"}})
	if !validRequestID(ps.RequestID) || ps.Status != StatusPinned || ps.Pin.Cid != c.String() || ps.Pin.Name != "photos" || ps.Pin.Meta["app"] != "x" || len(ps.Pin.Origins) != 1 {
		t.Fatalf("POST /pins answered %+v", ps)
	}
	if !slices.Equal(ps.Delegates, []string{"/ip4/10.0.0.1/tcp/4001/p2p/" + testPeerID(1)}) {
		t.Fatalf("delegates %v", ps.Delegates)
	}
	if !strings.Contains(ps.Info["status_details"], "a: pinned") {
		t.Fatalf("info %v", ps.Info)
	}
	pin, ok := e.pins.has(t, c)
	if !ok || pin.Name != "photos" || pin.Metadata[markerKey] != "1" || pin.Metadata[requestKeyPrefix+ps.RequestID] == "" || len(pin.Origins) != 1 {
		t.Fatalf("the pin is %+v", pin)
	}
	code, body := e.do("GET", "/pins/"+ps.RequestID, nil)
	var got PinStatus
	if code != 200 || json.Unmarshal(body, &got) != nil || got.RequestID != ps.RequestID || !got.Created.Equal(ps.Created) || got.Pin.Name != "photos" {
		t.Fatalf("GET /pins/{id}: %d %s", code, body)
	}
	if code, body := e.do("DELETE", "/pins/"+ps.RequestID, nil); code != http.StatusAccepted || len(body) != 0 {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if _, ok := e.pins.has(t, c); ok {
		t.Fatal("the service's pin stayed after its only request was removed")
	}
	if code, body := e.do("GET", "/pins/"+ps.RequestID, nil); code != 404 || failure(t, body).Reason != "NOT_FOUND" {
		t.Fatalf("GET after DELETE: %d %s", code, body)
	}
	if code, _ := e.do("DELETE", "/pins/"+ps.RequestID, nil); code != 404 {
		t.Fatalf("second DELETE: %d", code)
	}
}

// Two requests for one CID are two requests; the CID stays pinned while either holds it.
func TestTwoRequestsOneCid(t *testing.T) {
	e := newEnv(t)
	c := mkCid(t, 2)
	a := e.add(Pin{Cid: c.String(), Name: "a"})
	b := e.add(Pin{Cid: c.String(), Name: "b"})
	if a.RequestID == b.RequestID || !b.Created.After(a.Created) {
		t.Fatalf("two requests: %+v %+v", a, b)
	}
	if res := e.list("?cid=" + c.String()); res.Count != 2 || ids(res) != "b,a" {
		t.Fatalf("list: %+v", res)
	}
	if code, _ := e.do("DELETE", "/pins/"+a.RequestID, nil); code != 202 {
		t.Fatal(code)
	}
	pin, ok := e.pins.has(t, c)
	if !ok || pin.Name != "a" { // the pin keeps its name
		t.Fatalf("after removing one request: %+v %v", pin, ok)
	}
	if code, _ := e.do("DELETE", "/pins/"+b.RequestID, nil); code != 202 {
		t.Fatal(code)
	}
	if _, ok := e.pins.has(t, c); ok {
		t.Fatal("still pinned without requests")
	}
}

// A pin that existed before the first request keeps its name and stays after the last one.
func TestExistingPinStays(t *testing.T) {
	e := newEnv(t)
	c := mkCid(t, 3)
	if _, err := e.pins.PinRequests(t.Context(), c, api.PinOptions{Name: "mine", Metadata: map[string]string{"team": "x"}}); err != nil {
		t.Fatal(err)
	}
	ps := e.add(Pin{Cid: c.String(), Name: "req"})
	pin, _ := e.pins.has(t, c)
	if pin.Name != "mine" || pin.Metadata["team"] != "x" || pin.Metadata[markerKey] != "" {
		t.Fatalf("the existing pin became %+v", pin)
	}
	if code, _ := e.do("DELETE", "/pins/"+ps.RequestID, nil); code != 202 {
		t.Fatal(code)
	}
	pin, ok := e.pins.has(t, c)
	if !ok || pin.Name != "mine" || hasRequests(pin.Metadata) || pin.Metadata["team"] != "x" {
		t.Fatalf("after the request went: %+v %v", pin, ok)
	}
}

func TestReplace(t *testing.T) {
	e := newEnv(t)
	c1, c2 := mkCid(t, 4), mkCid(t, 5)
	old := e.add(Pin{Cid: c1.String(), Name: "v1"})
	// Same CID: one commit, a new id and created time, the old id gone.
	before := e.pins.pins
	code, body := e.do("POST", "/pins/"+old.RequestID, Pin{Cid: c1.String(), Name: "v2"})
	var same PinStatus
	if code != 202 || json.Unmarshal(body, &same) != nil || same.RequestID == old.RequestID || same.Pin.Name != "v2" || !same.Created.After(old.Created) {
		t.Fatalf("replace, same CID: %d %s", code, body)
	}
	if e.pins.pins != before+1 {
		t.Fatalf("replace of the same CID took %d commits", e.pins.pins-before)
	}
	pin, _ := e.pins.has(t, c1)
	if pin.Name != "v2" || pin.Metadata[requestKeyPrefix+old.RequestID] != "" || pin.Metadata[requestKeyPrefix+same.RequestID] == "" {
		t.Fatalf("pin after replace: %+v", pin)
	}
	if code, _ := e.do("GET", "/pins/"+old.RequestID, nil); code != 404 {
		t.Fatalf("the replaced request answers %d", code)
	}
	// Another CID: the new one is pinned, the old CID unpinned.
	code, body = e.do("POST", "/pins/"+same.RequestID, Pin{Cid: c2.String(), Name: "v3"})
	var other PinStatus
	if code != 202 || json.Unmarshal(body, &other) != nil || other.Pin.Cid != c2.String() {
		t.Fatalf("replace, other CID: %d %s", code, body)
	}
	if _, ok := e.pins.has(t, c1); ok {
		t.Fatal("the old CID stayed pinned")
	}
	if pin, ok := e.pins.has(t, c2); !ok || pin.Name != "v3" {
		t.Fatalf("the new CID: %+v %v", pin, ok)
	}
	if res := e.list("?status=queued,pinning,pinned,failed"); res.Count != 1 || res.Results[0].RequestID != other.RequestID {
		t.Fatalf("list after replaces: %+v", res)
	}
	// Replacing an unknown request, or with a bad body.
	if code, body := e.do("POST", "/pins/"+strings.Repeat("0", 32), Pin{Cid: c2.String()}); code != 404 || failure(t, body).Reason != "NOT_FOUND" {
		t.Fatalf("replace unknown: %d %s", code, body)
	}
	if code, body := e.do("POST", "/pins/"+other.RequestID, Pin{Cid: "nope"}); code != 400 || failure(t, body).Reason != "BAD_REQUEST" {
		t.Fatalf("replace with a bad CID: %d %s", code, body)
	}
}

// setupList adds the requests the filter tests list, oldest first:
// n0 (c0, pinned, meta env=prod), n1 (c1, queued), Photo-2 (c2, pinning, env=dev),
// photo-3 (c3, failed), n4 (c0 again, pinned, env=prod team=a).
func setupList(t *testing.T) (*env, []PinStatus) {
	e := newEnv(t)
	e.status.set(mkCid(t, 11), api.TrackerStatusPinQueued)
	e.status.set(mkCid(t, 12), api.TrackerStatusPinning)
	e.status.set(mkCid(t, 13), api.TrackerStatusPinError)
	reqs := []Pin{
		{Cid: mkCid(t, 10).String(), Name: "n0", Meta: map[string]string{"env": "prod"}},
		{Cid: mkCid(t, 11).String(), Name: "n1"},
		{Cid: mkCid(t, 12).String(), Name: "Photo-2", Meta: map[string]string{"env": "dev"}},
		{Cid: mkCid(t, 13).String(), Name: "photo-3"},
		{Cid: mkCid(t, 10).String(), Name: "n4", Meta: map[string]string{"env": "prod", "team": "a"}},
	}
	var out []PinStatus
	for _, p := range reqs {
		out = append(out, e.add(p))
	}
	return e, out
}

func TestListFilters(t *testing.T) {
	e, reqs := setupList(t)
	all := "&status=queued,pinning,pinned,failed"
	q := url.QueryEscape
	for _, tc := range []struct {
		query string
		names string
		count int
	}{
		{"", "n4,n0", 2}, // default: pinned only, newest first
		{"?status=queued,pinning,pinned,failed", "n4,photo-3,Photo-2,n1,n0", 5},
		{"?status=queued&status=failed", "photo-3,n1", 2},
		{"?status=pinning", "Photo-2", 1},
		{"?limit=2" + all, "n4,photo-3", 5},
		{"?limit=1&status=pinned", "n4", 2},
		{"?cid=" + mkCid(t, 10).String() + all, "n4,n0", 2},
		{"?cid=" + mkCid(t, 11).String() + "," + mkCid(t, 13).String() + all, "photo-3,n1", 2},
		{"?cid=" + mkCid(t, 99).String() + all, "", 0},
		{"?name=photo-3" + all, "photo-3", 1},
		{"?name=photo-2" + all, "", 0},
		{"?name=photo-2&match=exact" + all, "", 0},
		{"?name=photo-2&match=iexact" + all, "Photo-2", 1},
		{"?name=photo&match=partial" + all, "photo-3", 1},
		{"?name=PHOTO&match=ipartial" + all, "photo-3,Photo-2", 2},
		{"?meta=" + q(`{"env":"prod"}`) + all, "n4,n0", 2},
		{"?meta=" + q(`{"env":"prod","team":"a"}`) + all, "n4", 1},
		{"?meta=" + q(`{"env":"none"}`) + all, "", 0},
		{"?meta=" + q(`{}`) + all, "n4,photo-3,Photo-2,n1,n0", 5},
		{"?before=" + q(reqs[2].Created.Format(time.RFC3339Nano)) + all, "n1,n0", 2},
		{"?after=" + q(reqs[2].Created.Format(time.RFC3339Nano)) + all, "n4,photo-3", 2},
		{"?after=" + q(reqs[0].Created.Format(time.RFC3339Nano)) + "&before=" + q(reqs[4].Created.Format(time.RFC3339Nano)) + all, "photo-3,Photo-2,n1", 3},
		{"?after=" + q(reqs[4].Created.Format(time.RFC3339Nano)) + all, "", 0},
		{"?before=2000-01-01T00:00:00Z" + all, "", 0},
		{"?after=2000-01-01T00:00:00Z&before=2200-01-01T00:00:00%2B02:00" + all, "n4,photo-3,Photo-2,n1,n0", 5},
		{"?before=2200-01-01T00:00:00+02:00" + all, "n4,photo-3,Photo-2,n1,n0", 5}, // an unescaped +
		{"?name=n&match=partial&status=pinned&meta=" + q(`{"team":"a"}`), "n4", 1},
		{"?unknown=1", "n4,n0", 2},
	} {
		t.Run(tc.query, func(t *testing.T) {
			res := e.list(tc.query)
			if ids(res) != tc.names || res.Count != tc.count {
				t.Fatalf("got %q count %d, want %q count %d", ids(res), res.Count, tc.names, tc.count)
			}
			if res.Results == nil {
				t.Fatal("results is null")
			}
		})
	}
	// Statuses and delegates of each result.
	res := e.list("?status=failed")
	if len(res.Results) != 1 || res.Results[0].Status != StatusFailed || len(res.Results[0].Delegates) != 1 || !strings.Contains(res.Results[0].Info["status_details"], "pin_error") {
		t.Fatalf("failed item: %+v", res.Results)
	}
}

// Paging by before returns every request once even when requests arrive between pages.
func TestListPagingStable(t *testing.T) {
	e := newEnv(t)
	want := map[string]bool{}
	for i := range 23 {
		want[e.add(Pin{Cid: mkCid(t, 100+i%7).String(), Name: fmt.Sprint("p", i)}).RequestID] = true
	}
	seen := map[string]bool{}
	before := ""
	for page := 0; ; page++ {
		res := e.list("?limit=5" + before)
		for _, r := range res.Results {
			if seen[r.RequestID] {
				t.Fatalf("page %d repeats %s", page, r.RequestID)
			}
			seen[r.RequestID] = true
		}
		if len(res.Results) < 5 {
			break
		}
		before = "&before=" + url.QueryEscape(res.Results[len(res.Results)-1].Created.Format(time.RFC3339Nano))
		e.add(Pin{Cid: mkCid(t, 200+page).String(), Name: fmt.Sprint("new", page)}) // newer: not in the pages to come
	}
	for id := range want {
		if !seen[id] {
			t.Fatalf("paging skipped %s", id)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("paging saw %d requests, want %d", len(seen), len(want))
	}
}

// The status of a CID is asked once per listing, in batches, and only for the items returned
// when the status filter lets every status through.
func TestListStatusCalls(t *testing.T) {
	e, _ := setupList(t)
	e.status.calls = 0
	e.list("?limit=1&status=queued,pinning,pinned,failed")
	if e.status.calls != 1 {
		t.Fatalf("%d status calls for one item", e.status.calls)
	}
	e.status.calls, e.status.batches = 0, 0
	if res := e.list("?limit=1"); res.Count != 2 {
		t.Fatal(res)
	}
	if e.status.calls != 4 || e.status.batches != 1 { // four CIDs (c0 once for its two requests), one call
		t.Fatalf("%d CIDs asked in %d calls", e.status.calls, e.status.batches)
	}
	// A status error: the request is queued, the error in info.
	e.status.err = errors.New("cluster down")
	res := e.list("?status=queued&limit=1")
	if len(res.Results) != 1 || !strings.Contains(res.Results[0].Info["status_details"], "cluster down") || res.Results[0].Delegates == nil {
		t.Fatalf("%+v", res.Results)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	c := mkCid(t, 1).String()
	id := e.add(Pin{Cid: c}).RequestID
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name, token, method, target string
		body                        any
		code                        int
		reason                      string
	}{
		{"malformed CID", "writer", "POST", "/pins", Pin{Cid: "QmNotACid"}, 400, "BAD_REQUEST"},
		{"no CID", "writer", "POST", "/pins", Pin{Name: "x"}, 400, "BAD_REQUEST"},
		{"name over 255", "writer", "POST", "/pins", Pin{Cid: c, Name: long}, 400, "BAD_REQUEST"},
		{"name of 255", "writer", "POST", "/pins", Pin{Cid: c, Name: long[:255]}, 202, ""},
		{"bad origin", "writer", "POST", "/pins", Pin{Cid: c, Origins: []string{"not a multiaddr"}}, 400, "BAD_REQUEST"},
		{"21 origins", "writer", "POST", "/pins", Pin{Cid: c, Origins: manyOrigins(21)}, 202, ""},
		{"huge meta", "writer", "POST", "/pins", Pin{Cid: c, Meta: map[string]string{"a": strings.Repeat("m", maxEntryBytes)}}, 400, "BAD_REQUEST"},
		{"bad JSON", "writer", "POST", "/pins", `{"cid": `, 400, "BAD_REQUEST"},
		{"meta not strings", "writer", "POST", "/pins", `{"cid": "` + c + `", "meta": {"a": 1}}`, 400, "BAD_REQUEST"},
		{"huge body", "writer", "POST", "/pins", `{"cid": "` + c + `", "name": "` + strings.Repeat("y", maxBodyBytes) + `"}`, 413, "REQUEST_TOO_LARGE"},
		{"unknown status", "writer", "GET", "/pins?status=done", nil, 400, "BAD_REQUEST"},
		{"empty status", "writer", "GET", "/pins?status=", nil, 400, "BAD_REQUEST"},
		{"limit 0", "writer", "GET", "/pins?limit=0", nil, 400, "BAD_REQUEST"},
		{"limit 1001", "writer", "GET", "/pins?limit=1001", nil, 400, "BAD_REQUEST"},
		{"limit 1000", "writer", "GET", "/pins?limit=1000", nil, 200, ""},
		{"limit abc", "writer", "GET", "/pins?limit=abc", nil, 400, "BAD_REQUEST"},
		{"bad before", "writer", "GET", "/pins?before=yesterday", nil, 400, "BAD_REQUEST"},
		{"bad after", "writer", "GET", "/pins?after=2020-13-01T00:00:00Z", nil, 400, "BAD_REQUEST"},
		{"bad meta", "writer", "GET", "/pins?meta=" + url.QueryEscape(`{"a":`), nil, 400, "BAD_REQUEST"},
		{"meta array", "writer", "GET", "/pins?meta=" + url.QueryEscape(`["a"]`), nil, 400, "BAD_REQUEST"},
		{"meta null", "writer", "GET", "/pins?meta=null", nil, 400, "BAD_REQUEST"},
		{"bad match", "writer", "GET", "/pins?name=a&match=fuzzy", nil, 400, "BAD_REQUEST"},
		{"bad cid filter", "writer", "GET", "/pins?cid=nope", nil, 400, "BAD_REQUEST"},
		{"11 cids", "writer", "GET", "/pins?cid=" + strings.Repeat(c+",", 10) + c, nil, 400, "BAD_REQUEST"},
		{"long name filter", "writer", "GET", "/pins?name=" + long, nil, 400, "BAD_REQUEST"},
		{"two limits", "writer", "GET", "/pins?limit=1&limit=2", nil, 400, "BAD_REQUEST"},
		{"unknown id", "writer", "GET", "/pins/" + strings.Repeat("a", 32), nil, 404, "NOT_FOUND"},
		{"malformed id", "writer", "GET", "/pins/xyz", nil, 404, "NOT_FOUND"},
		{"unknown id delete", "writer", "DELETE", "/pins/" + strings.Repeat("b", 32), nil, 404, "NOT_FOUND"},
		{"no token", "", "GET", "/pins", nil, 401, "UNAUTHORIZED"},
		{"revoked token", "revoked", "GET", "/pins/" + id, nil, 401, "UNAUTHORIZED"},
		{"revoked token write", "revoked", "POST", "/pins", Pin{Cid: c}, 401, "UNAUTHORIZED"},
		{"reader lists", "reader", "GET", "/pins", nil, 200, ""},
		{"reader gets", "reader", "GET", "/pins/" + id, nil, 200, ""},
		{"reader adds", "reader", "POST", "/pins", Pin{Cid: c}, 403, "FORBIDDEN"},
		{"reader deletes", "reader", "DELETE", "/pins/" + id, nil, 403, "FORBIDDEN"},
		{"method", "writer", "PUT", "/pins", nil, 405, "METHOD_NOT_ALLOWED"},
		{"method on id", "writer", "PATCH", "/pins/" + id, nil, 405, "METHOD_NOT_ALLOWED"},
		{"unknown path", "writer", "GET", "/pinsx", nil, 404, "NOT_FOUND"},
		{"nested path", "writer", "GET", "/pins/" + id + "/x", nil, 404, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.token = tc.token
			code, body := e.do(tc.method, tc.target, tc.body)
			if code != tc.code {
				t.Fatalf("%d %s, want %d", code, body, tc.code)
			}
			if tc.reason != "" {
				if f := failure(t, body); f.Reason != tc.reason || f.Details == "" {
					t.Fatalf("failure %+v, want reason %s with details", f, tc.reason)
				}
			}
			if code == 401 {
				e.token = "writer"
			}
		})
	}
}

// A CID whose metadata cannot take another request answers 409.
func TestRequestLimit(t *testing.T) {
	e := newEnv(t)
	c := mkCid(t, 1).String()
	meta := map[string]string{"blob": strings.Repeat("z", maxEntryBytes-200)}
	for i := range 10 {
		code, body := e.do("POST", "/pins", Pin{Cid: c, Meta: meta})
		if code == http.StatusConflict {
			f := failure(t, body)
			if f.Reason != "REQUEST_LIMIT" || i < 3 {
				t.Fatalf("409 after %d requests: %+v", i, f)
			}
			want := fmt.Sprintf("the pin's metadata is full: the pin of %s has no room for this request: with it, its metadata would have", c)
			if !strings.HasPrefix(f.Details, want) || !strings.Contains(f.Details, "over the limit of 16384") ||
				!strings.Contains(f.Details, fmt.Sprintf("(%d requests of this API", i)) || !strings.HasSuffix(f.Details, ": remove some of its requests") {
				t.Fatalf("details %q", f.Details)
			}
			return
		}
		if code != 202 {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	t.Fatal("no 409 when the pin's metadata is full")
}

// A pin whose own metadata (set through the REST API) leaves no room for a request answers 409,
// saying the metadata is full, which bound it passes, what the pin holds, and what to do;
// nothing is written. (It said "invalid request: metadata has 65 keys" and to remove requests
// the pin did not have.)
func TestRequestOnFullPin(t *testing.T) {
	e := newEnv(t)
	keys := map[string]string{}
	for i := range api.MaxMetadataKeys {
		keys[fmt.Sprint("k", i)] = "v"
	}
	// 60 bytes short of the bound: a request takes more (its key alone is 39 bytes, its entry
	// about 50 and a byte or two more or less with its timestamp's digits: 100 short was
	// sometimes enough room, and the test failed).
	bytes := map[string]string{"blob": strings.Repeat("x", api.MaxMetadataBytes-60)}
	for i, tc := range []struct {
		meta        map[string]string
		over, holds string
	}{
		{keys, "65 keys, over the limit of 64", "it holds 64 keys and 246 bytes now (0 requests of this API taking 0 bytes, 64 other keys taking 246 bytes)"},
		{bytes, "bytes of keys and values, over the limit of 16384", "it holds 1 key and 16328 bytes now (0 requests of this API taking 0 bytes, 1 other key taking 16328 bytes)"},
	} {
		c := mkCid(t, 100+i)
		if _, err := e.pins.PinRequests(t.Context(), c, api.PinOptions{Name: "by hand", Metadata: tc.meta}); err != nil {
			t.Fatal(err)
		}
		writes := e.pins.pins
		code, body := e.do("POST", "/pins", Pin{Cid: c.String(), Name: "more"})
		if code != http.StatusConflict {
			t.Fatalf("%d %s, want 409", code, body)
		}
		f := failure(t, body)
		if f.Reason != "REQUEST_LIMIT" || !strings.HasPrefix(f.Details, "the pin's metadata is full: ") || !strings.Contains(f.Details, tc.over) ||
			!strings.Contains(f.Details, tc.holds) || !strings.Contains(f.Details, "re-pin it with less metadata") {
			t.Fatalf("failure %+v", f)
		}
		if e.pins.pins != writes {
			t.Fatal("a refused request was written")
		}
	}
}

// A failing pinset write is the spec's error body with the mapped status.
func TestWriteErrors(t *testing.T) {
	e := newEnv(t)
	e.pins.fail = fmt.Errorf("%w: the pin queue is full", api.ErrUnavailable)
	code, body := e.do("POST", "/pins", Pin{Cid: mkCid(t, 1).String()})
	if code != 503 || failure(t, body).Reason != "SERVICE_UNAVAILABLE" {
		t.Fatalf("%d %s", code, body)
	}
	e.pins.fail = errors.New("disk on fire")
	code, body = e.do("POST", "/pins", Pin{Cid: mkCid(t, 1).String()})
	if code != 500 || failure(t, body).Reason != "INTERNAL_SERVER_ERROR" {
		t.Fatalf("%d %s", code, body)
	}
}

func TestClusterStatus(t *testing.T) {
	pi := func(st api.TrackerStatus, addr string) api.PinInfoShort {
		return api.PinInfoShort{PeerName: addr, IPFS: testPeerID(addr[0]), IPFSAddresses: []string{"/ip4/10.0.0." + addr + "/tcp/4001"}, Status: st}
	}
	for _, tc := range []struct {
		name      string
		peers     []api.PinInfoShort
		status    string
		delegates int
	}{
		{"no peers yet", nil, StatusQueued, 0},
		{"pinned", []api.PinInfoShort{pi(api.TrackerStatusPinned, "1")}, StatusPinned, 1},
		{"pinned and error", []api.PinInfoShort{pi(api.TrackerStatusPinned, "1"), pi(api.TrackerStatusPinError, "2")}, StatusPinned, 1},
		{"pinning and queued", []api.PinInfoShort{pi(api.TrackerStatusPinning, "1"), pi(api.TrackerStatusPinQueued, "2")}, StatusPinning, 2},
		{"queued", []api.PinInfoShort{pi(api.TrackerStatusPinQueued, "1"), pi(api.TrackerStatusRemote, "2")}, StatusQueued, 1},
		{"queued and error", []api.PinInfoShort{pi(api.TrackerStatusPinQueued, "1"), pi(api.TrackerStatusClusterError, "2")}, StatusQueued, 1},
		{"errors everywhere", []api.PinInfoShort{pi(api.TrackerStatusPinError, "1"), pi(api.TrackerStatusClusterError, "2")}, StatusFailed, 2},
		{"unexpectedly unpinned", []api.PinInfoShort{pi(api.TrackerStatusUnexpectedlyUnpinned, "1")}, StatusQueued, 1},
		{"unexpectedly unpinned and error", []api.PinInfoShort{pi(api.TrackerStatusUnexpectedlyUnpinned, "1"), pi(api.TrackerStatusPinError, "2")}, StatusQueued, 1},
		{"only remote", []api.PinInfoShort{pi(api.TrackerStatusRemote, "1")}, StatusQueued, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := api.GlobalPinInfo{PeerMap: map[string]api.PinInfoShort{}}
			for i, p := range tc.peers {
				g.PeerMap[fmt.Sprint("peer", i)] = p
			}
			st, del, info := clusterStatus(g, nil)
			if st != tc.status || len(del) != tc.delegates || del == nil {
				t.Fatalf("status %s delegates %v, want %s and %d", st, del, tc.status, tc.delegates)
			}
			for _, d := range del {
				if !strings.Contains(d, "/p2p/12D3") {
					t.Fatalf("delegate %s lacks /p2p/", d)
				}
			}
			if len(tc.peers) > 0 && info["status_details"] == "" {
				t.Fatal("no status_details")
			}
		})
	}
}

func TestCreatedClockIsStrictlyIncreasing(t *testing.T) {
	fixed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := createdClock{now: func() time.Time { return fixed }}
	a, b := c.next(), c.next()
	if !b.After(a) {
		t.Fatalf("%v then %v", a, b)
	}
}

func manyOrigins(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("/ip4/1.2.3.%d/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN", i))
	}
	return out
}

// Origins are hints: more than 20, or more than fit, are cut rather than refused.
func TestOriginsCut(t *testing.T) {
	e := newEnv(t)
	ps := e.add(Pin{Cid: mkCid(t, 1).String(), Origins: manyOrigins(30)})
	if len(ps.Pin.Origins) != maxOrigins {
		t.Fatalf("%d origins kept", len(ps.Pin.Origins))
	}
	long := manyOrigins(20)
	for i := range long {
		long[i] += "/p2p-circuit" + strings.Repeat("/dns4/relay.example.com", 10)
	}
	ps = e.add(Pin{Cid: mkCid(t, 2).String(), Origins: long})
	if n := len(ps.Pin.Origins); n == 0 || n == 20 {
		t.Fatalf("%d long origins kept", n)
	}
	pin, _ := e.pins.has(t, mkCid(t, 2))
	if len(pin.Metadata[requestKeyPrefix+ps.RequestID]) > maxEntryBytes {
		t.Fatal("entry over its limit")
	}
}

type fakePeers struct{ calls int }

func (f *fakePeers) Peers(_ context.Context, fn func(api.ID) error) error {
	f.calls++
	return fn(api.ID{ID: peer.ID("peerA"), IPFS: api.IPFSID{ID: testPeerID(1), Addresses: []string{"/ip4/10.9.9.9/tcp/4001/p2p/" + testPeerID(1), "/ip4/10.9.9.9/udp/4001/quic-v1"}}})
}

type noAddrStatus struct{ fakeStatus }

func (f *noAddrStatus) Status(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error) {
	g, err := f.fakeStatus.Status(ctx, c, local)
	for k, pi := range g.PeerMap {
		pi.IPFSAddresses = nil
		g.PeerMap[k] = pi
	}
	return g, err
}

// Without addresses in the status, delegates come from the membership (asked once per TTL).
func TestDelegatesFromMembership(t *testing.T) {
	e := newEnv(t)
	peers := &fakePeers{}
	s, err := New(DefaultConfig(), Deps{Pins: e.pins, Status: &noAddrStatus{}, Index: storeIndex{e.pins.store}, Peers: peers}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	ps := e.add(Pin{Cid: mkCid(t, 1).String()})
	want := []string{"/ip4/10.9.9.9/tcp/4001/p2p/" + testPeerID(1), "/ip4/10.9.9.9/udp/4001/quic-v1/p2p/" + testPeerID(1)}
	if !slices.Equal(ps.Delegates, want) {
		t.Fatalf("delegates %v, want %v", ps.Delegates, want)
	}
	e.add(Pin{Cid: mkCid(t, 2).String()})
	if peers.calls != 1 {
		t.Fatalf("membership asked %d times", peers.calls)
	}
}

// Counting over more matches than a status batch: one cluster call per batch, the count exact.
func TestListCountsInBatches(t *testing.T) {
	e := newEnv(t)
	n := statusBatch + 40
	for i := range n {
		e.add(Pin{Cid: mkCid(t, 1000+i).String(), Name: fmt.Sprint("b", i)})
	}
	e.status.set(mkCid(t, 1000), api.TrackerStatusPinning)
	e.status.calls, e.status.batches = 0, 0
	res := e.list("?limit=3")
	if res.Count != n-1 || ids(res) != fmt.Sprintf("b%d,b%d,b%d", n-1, n-2, n-3) {
		t.Fatalf("count %d, first %s", res.Count, ids(res))
	}
	if e.status.batches != 2 || e.status.calls != n {
		t.Fatalf("%d CIDs in %d calls", e.status.calls, e.status.batches)
	}
	e.status.calls, e.status.batches = 0, 0
	if res := e.list("?limit=3&status=queued,pinning,pinned,failed"); res.Count != n || e.status.calls != 3 {
		t.Fatalf("every status: count %d, %d CIDs asked", res.Count, e.status.calls)
	}
}

// A request on a CID whose pin has expired (the healer's next sync removes it) pins the CID
// anew: the expiry is cleared and the pin is the service's, so the request is not dropped
// with the expired pin. (Review: it was accepted with 202, then gone.)
func TestRequestOnExpiredPinPinsAnew(t *testing.T) {
	e := newEnv(t)
	c := mkCid(t, 77)
	p := api.NewPin(c, api.PinOptions{Name: "by hand", ReplicationFactorMin: -1, ReplicationFactorMax: -1, ExpireAt: time.Now().Add(-time.Hour)})
	js, err := api.MarshalPin(&p)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.pins.apply(crdt.Op{Kind: crdt.OpPin, Cid: c, PinJSON: js}); err != nil {
		t.Fatal(err)
	}
	ps := e.add(Pin{Cid: c.String(), Name: "remote"})
	got, err := e.pins.PinGet(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpireAt.IsZero() || got.Metadata[markerKey] != "1" {
		t.Fatalf("pin after a request on its expired pin: expire_at %v, marker %q; want no expiry, the service's", got.ExpireAt, got.Metadata[markerKey])
	}
	// Its last request removed, the pin goes (it is the service's now).
	if code, body := e.do("DELETE", "/pins/"+ps.RequestID, nil); code != http.StatusAccepted {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if _, err := e.pins.PinGet(context.Background(), c); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("pin after its last request went: %v, want not found", err)
	}
}

// Replacing a request of an expired pin with one for the same CID pins it anew too. (Review.)
func TestReplaceOnExpiredPinPinsAnew(t *testing.T) {
	e := newEnv(t)
	c := mkCid(t, 78)
	ps := e.add(Pin{Cid: c.String(), Name: "remote"})
	cur, err := e.pins.PinGet(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	cur.ExpireAt = time.Now().Add(-time.Hour)
	js, err := api.MarshalPin(&cur)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.pins.apply(crdt.Op{Kind: crdt.OpPin, Cid: c, PinJSON: js}); err != nil {
		t.Fatal(err)
	}
	if code, body := e.do("POST", "/pins/"+ps.RequestID, Pin{Cid: c.String(), Name: "renamed"}); code != http.StatusAccepted {
		t.Fatalf("replace: %d %s", code, body)
	}
	got, err := e.pins.PinGet(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpireAt.IsZero() {
		t.Fatalf("expire_at %v after a replace on the expired pin, want none", got.ExpireAt)
	}
}
