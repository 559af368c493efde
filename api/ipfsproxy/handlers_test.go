package ipfsproxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
)

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return v
}

func lines(t *testing.T, w *httptest.ResponseRecorder) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(w.Body.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestBadRequestsChangeNothing: every malformed request is a 400 (Code 1) in Kubo's shape and
// leaves the pinset as it was.
func TestBadRequestsChangeNothing(t *testing.T) {
	e := newEnv(t)
	pinned := cidOf("pinned")
	if _, err := e.pins.Pin(t.Context(), pinned, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	good := cidOf("good").String()
	truncated, ctype := multipartFiles("a.txt", "aaaa")
	truncated.Truncate(truncated.Len() - 10)
	badBody := "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nnot closed"
	for _, tc := range []struct {
		name, target, ctype, body string
		want                      string // in the message
	}{
		{"pin add without argument", "/api/v0/pin/add", "", "", `argument "ipfs-path" is required`},
		{"pin add bad cid among good", "/api/v0/pin/add?arg=" + good + "&arg=notacid", "", "", "not a CID"},
		{"pin add bad namespace", "/api/v0/pin/add?arg=/foo/" + good, "", "", "unknown namespace"},
		{"pin add bad bool", "/api/v0/pin/add?arg=" + good + "&recursive=maybe", "", "", `"-recursive"`},
		{"pin add malformed query", "/api/v0/pin/add?arg=%zz", "", "", "malformed query"},
		{"pin add malformed body", "/api/v0/pin/add", "multipart/form-data; boundary=b", badBody, "malformed multipart"},
		{"pin add long name", "/api/v0/pin/add?arg=" + good + "&name=" + strings.Repeat("x", 5000), "", "", "name"},
		{"pin rm without argument", "/api/v0/pin/rm", "", "", "required"},
		{"pin rm bad cid", "/api/v0/pin/rm?arg=" + pinned.String() + "&arg=zz", "", "", "not a CID"},
		{"pin update one argument", "/api/v0/pin/update?arg=" + pinned.String(), "", "", `"to-path" is required`},
		{"pin update no argument", "/api/v0/pin/update", "", "", `"from-path" is required`},
		{"pin update three arguments", "/api/v0/pin/update?arg=" + pinned.String() + "&arg=" + good + "&arg=" + good, "", "", "two arguments"},
		{"pin update bad to", "/api/v0/pin/update?arg=" + pinned.String() + "&arg=xyz", "", "", "not a CID"},
		{"pin ls bad type", "/api/v0/pin/ls?type=weird", "", "", "invalid type"},
		{"add not multipart", "/api/v0/add", "text/plain", "hello", "multipart"},
		{"add truncated body", "/api/v0/add", ctype, truncated.String(), "multipart"},
		{"add only-hash", "/api/v0/add?only-hash=true", ctype, "x", "only-hash"},
		{"add bad chunker", "/api/v0/add?chunker=huge", ctype, "x", "chunker"},
		{"add bad cid-version", "/api/v0/add?cid-version=x", ctype, "x", "cid-version"},
		{"dag import not multipart", "/api/v0/dag/import", "application/octet-stream", "CAR:x", "multipart"},
		{"cat bad offset", "/api/v0/cat?arg=" + good + "&offset=-1", "", "", "offset"},
		{"block get two args", "/api/v0/block/get?arg=" + good + "&arg=" + good, "", "", "expected 1 argument"},
		{"id bad peer", "/api/v0/id?arg=nope", "", "", "invalid peer id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.pins.changes()
			w := e.do(http.MethodPost, tc.target, strings.NewReader(tc.body), tc.ctype)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", w.Code, w.Body.String())
			}
			ke := kuboErr(t, w)
			if ke.Code != codeClient || !strings.Contains(ke.Message, tc.want) {
				t.Fatalf("error %+v, want Code 1 and %q", ke, tc.want)
			}
			if after := e.pins.changes(); !slices.Equal(before, after) {
				t.Fatalf("pinset changed: %v -> %v", before, after)
			}
		})
	}
}

func TestPinAdd(t *testing.T) {
	e := newEnv(t)
	a, b, sub := cidOf("a"), cidOf("b"), cidOf("sub")
	e.node.paths["/ipfs/"+a.String()+"/dir/file"] = sub
	w := e.post("/api/v0/pin/add?arg=" + a.String() + "&arg=/ipfs/" + b.String() + "&arg=" + url.QueryEscape(a.String()+"/dir/file") + "&name=n1")
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if got := decode[pinOutput](t, w).Pins; !slices.Equal(got, []string{a.String(), b.String(), sub.String()}) {
		t.Fatalf("Pins = %v", got)
	}
	if w.Header().Get("X-Chunked-Output") != "" {
		t.Fatal("a pin add without progress is a single value, not a stream")
	}
	p, err := e.pins.PinGet(t.Context(), b)
	if err != nil || p.Mode != api.PinModeRecursive || p.Name != "n1" || p.ReplicationFactorMin != 0 {
		t.Fatalf("pin %+v, %v: want recursive, named, default replication", p, err)
	}

	// recursive=false is a direct pin; progress=true a stream of one {"Pins"} value.
	c := cidOf("c")
	w = e.post("/api/v0/pin/add?arg=" + c.String() + "&recursive=false&progress=true")
	if w.Code != 200 || w.Header().Get("X-Chunked-Output") != "1" {
		t.Fatalf("status %d, headers %v: %s", w.Code, w.Header(), w.Body.String())
	}
	if ls := lines(t, w); len(ls) != 1 || fmt.Sprint(ls[0]["Pins"]) != "["+c.String()+"]" {
		t.Fatalf("progress stream %v", ls)
	}
	if p, _ := e.pins.PinGet(t.Context(), c); p.Mode != api.PinModeDirect {
		t.Fatalf("recursive=false pinned %v", p.Mode)
	}

	// Arguments from the body (echo CID | ipfs pin add).
	d := cidOf("d")
	body, ctype := multipartFiles("", d.String()+"\n")
	w = e.do(http.MethodPost, "/api/v0/pin/add", body, ctype)
	if w.Code != 200 || !strings.Contains(w.Body.String(), d.String()) {
		t.Fatalf("body args: %d %s", w.Code, w.Body.String())
	}

	// A path that does not resolve: a 500 (Kubo's code 0) and nothing pinned.
	before := e.pins.changes()
	w = e.post("/api/v0/pin/add?arg=" + cidOf("z").String() + "&arg=/ipfs/" + a.String() + "/missing")
	if w.Code != 500 || kuboErr(t, w).Code != codeNormal {
		t.Fatalf("unresolvable path: %d %s", w.Code, w.Body.String())
	}
	if !slices.Equal(before, e.pins.changes()) {
		t.Fatal("an unresolvable argument pinned the others")
	}

	// A full queue is a 503; GET is not Kubo's RPC API.
	e.pins.fail = fmt.Errorf("%w: %w: tracker queue", api.ErrQueueFull, api.ErrUnavailable)
	if w = e.post("/api/v0/pin/add?arg=" + cidOf("q").String()); w.Code != 503 {
		t.Fatalf("queue full: %d %s", w.Code, w.Body.String())
	}
	e.pins.fail = nil
	if w = e.do(http.MethodGet, "/api/v0/pin/add?arg="+a.String(), nil, ""); w.Code != 405 {
		t.Fatalf("GET: %d", w.Code)
	}
}

func TestPinRm(t *testing.T) {
	e := newEnv(t)
	a, b, d := cidOf("a"), cidOf("b"), cidOf("d")
	for _, c := range []api.Cid{a, b} {
		e.pins.Pin(t.Context(), c, api.PinOptions{})
	}
	e.pins.Pin(t.Context(), d, api.PinOptions{Mode: api.PinModeDirect})

	// One argument not pinned: Kubo's "not pinned" (500, Code 0) and nothing removed.
	before := e.pins.changes()
	w := e.post("/api/v0/pin/rm?arg=" + a.String() + "&arg=" + cidOf("x").String())
	if w.Code != 500 || !strings.Contains(kuboErr(t, w).Message, "not pinned") {
		t.Fatalf("not pinned: %d %s", w.Code, w.Body.String())
	}
	// recursive=false on a recursive pin: an error, as Kubo's.
	w = e.post("/api/v0/pin/rm?arg=" + a.String() + "&recursive=false")
	if w.Code != 500 || !strings.Contains(w.Body.String(), "pinned recursively") {
		t.Fatalf("recursive=false: %d %s", w.Code, w.Body.String())
	}
	if !slices.Equal(before, e.pins.changes()) {
		t.Fatal("a failed pin rm changed the pinset")
	}
	w = e.post("/api/v0/pin/rm?arg=" + a.String() + "&arg=/ipfs/" + b.String())
	if w.Code != 200 || !slices.Equal(decode[pinOutput](t, w).Pins, []string{a.String(), b.String()}) {
		t.Fatalf("pin rm: %d %s", w.Code, w.Body.String())
	}
	if w = e.post("/api/v0/pin/rm?arg=" + d.String() + "&recursive=false"); w.Code != 200 {
		t.Fatalf("direct rm: %d %s", w.Code, w.Body.String())
	}
	if _, err := e.pins.PinGet(t.Context(), a); err == nil {
		t.Fatal("still pinned")
	}
}

func TestPinUpdate(t *testing.T) {
	e := newEnv(t)
	from, to, to2 := cidOf("from"), cidOf("to"), cidOf("to2")
	e.pins.Pin(t.Context(), from, api.PinOptions{Name: "site", ReplicationFactorMin: 2, ReplicationFactorMax: 3})

	w := e.post("/api/v0/pin/update?arg=" + cidOf("nope").String() + "&arg=" + to.String())
	if w.Code != 500 || !strings.Contains(w.Body.String(), "was not pinned") {
		t.Fatalf("from not pinned: %d %s", w.Code, w.Body.String())
	}
	w = e.post("/api/v0/pin/update?arg=" + from.String() + "&arg=" + to.String())
	if w.Code != 200 || !slices.Equal(decode[pinOutput](t, w).Pins, []string{from.String(), to.String()}) {
		t.Fatalf("update: %d %s", w.Code, w.Body.String())
	}
	p, err := e.pins.PinGet(t.Context(), to)
	if err != nil || p.Name != "site" || p.ReplicationFactorMax != 3 || p.PinUpdate != from {
		t.Fatalf("to = %+v, %v: want from's options", p, err)
	}
	if _, err := e.pins.PinGet(t.Context(), from); err == nil {
		t.Fatal("from still pinned")
	}
	// unpin=false keeps from.
	if w = e.post("/api/v0/pin/update?arg=" + to.String() + "&arg=" + to2.String() + "&unpin=false"); w.Code != 200 {
		t.Fatalf("unpin=false: %d %s", w.Code, w.Body.String())
	}
	if _, err := e.pins.PinGet(t.Context(), to); err != nil {
		t.Fatal("unpin=false unpinned from")
	}
}

func TestPinLs(t *testing.T) {
	e := newEnv(t)
	a, b := cidOf("a"), cidOf("b")
	e.pins.Pin(t.Context(), a, api.PinOptions{Name: "alpha"})
	e.pins.Pin(t.Context(), b, api.PinOptions{Mode: api.PinModeDirect})

	type keys struct{ Keys map[string]pinLsType }
	w := e.post("/api/v0/pin/ls")
	got := decode[keys](t, w).Keys
	if len(got) != 2 || got[a.String()].Type != "recursive" || got[b.String()].Type != "direct" || got[a.String()].Name != "" {
		t.Fatalf("pin ls = %v", got)
	}
	if got := decode[keys](t, e.post("/api/v0/pin/ls?type=direct")).Keys; len(got) != 1 || got[b.String()].Type != "direct" {
		t.Fatalf("type=direct: %v", got)
	}
	if got := decode[keys](t, e.post("/api/v0/pin/ls?type=indirect")).Keys; len(got) != 0 {
		t.Fatalf("type=indirect: %v", got)
	}
	if got := decode[keys](t, e.post("/api/v0/pin/ls?names=true&arg="+a.String())).Keys; len(got) != 1 || got[a.String()].Name != "alpha" {
		t.Fatalf("arg + names: %v", got)
	}
	if got := decode[keys](t, e.post("/api/v0/pin/ls?name=alp")).Keys; len(got) != 1 || got[a.String()].Name != "alpha" {
		t.Fatalf("name filter: %v", got)
	}
	w = e.post("/api/v0/pin/ls?arg=" + cidOf("x").String())
	if w.Code != 500 || !strings.Contains(w.Body.String(), "is not pinned") {
		t.Fatalf("arg not pinned: %d %s", w.Code, w.Body.String())
	}
	w = e.post("/api/v0/pin/ls?arg=" + a.String() + "&type=direct")
	if w.Code != 500 || !strings.Contains(w.Body.String(), "not pinned as direct") {
		t.Fatalf("arg of another type: %d %s", w.Code, w.Body.String())
	}
	w = e.post("/api/v0/pin/ls?stream=true")
	ls := lines(t, w)
	if w.Header().Get("X-Chunked-Output") != "1" || len(ls) != 2 || ls[0]["Cid"] == nil || ls[0]["Type"] == nil {
		t.Fatalf("stream: %v %v", w.Header(), ls)
	}
}

func TestAdd(t *testing.T) {
	e := newEnv(t)
	body, ctype := multipartFiles("a.txt", "aaa", "b.txt", "bbbb")
	w := e.do(http.MethodPost, "/api/v0/add?cid-version=1&trickle=true&pin-name=docs", body, ctype)
	if w.Code != 200 || w.Header().Get("X-Chunked-Output") != "1" || w.Header().Get("Connection") != "close" {
		t.Fatalf("add: %d %v %s (an add closes its connection: its body's end is read only after it)", w.Code, w.Header(), w.Body.String())
	}
	ls := lines(t, w)
	if len(ls) != 2 || ls[0]["Name"] != "a.txt" || ls[0]["Hash"] != cidOf("aaa").String() || ls[0]["Size"] != "3" || ls[1]["Hash"] != cidOf("bbbb").String() {
		t.Fatalf("add lines %v", ls)
	}
	if p := e.adder.params; !p.RawLeaves || p.CidVersion != 1 || p.Layout != "trickle" || p.Name != "docs" || p.NoPin {
		t.Fatalf("add params %+v", p)
	}
	if _, err := e.pins.PinGet(t.Context(), cidOf("bbbb")); err != nil {
		t.Fatal("add did not pin the root in the cluster")
	}
	// pin=false; progress lines carry Bytes.
	body, ctype = multipartFiles("c.txt", "ccccc")
	w = e.do(http.MethodPost, "/api/v0/add?pin=false&progress=true&raw-leaves=false&cid-version=1", body, ctype)
	ls = lines(t, w)
	if w.Code != 200 || len(ls) != 2 || ls[0]["Bytes"] != float64(5) || ls[1]["Hash"] != cidOf("ccccc").String() {
		t.Fatalf("progress: %d %v", w.Code, ls)
	}
	if p := e.adder.params; p.RawLeaves || !p.NoPin || !p.RawLeavesSet || p.UseRawLeaves() {
		t.Fatalf("params %+v: an explicit raw-leaves=false must hold with CIDv1", p)
	}
	if _, err := e.pins.PinGet(t.Context(), cidOf("ccccc")); err == nil {
		t.Fatal("pin=false pinned")
	}
}

func TestRepo(t *testing.T) {
	e := newEnv(t)
	w := e.post("/api/v0/repo/stat")
	if st := decode[repoStat](t, w); w.Code != 200 || st.RepoSize != 100 || st.StorageMax != 1000 || st.NumObjects != 3 {
		t.Fatalf("repo stat: %d %s", w.Code, w.Body.String())
	}
	if w = e.post("/api/v0/repo/stat?size-only=true"); strings.Contains(w.Body.String(), "NumObjects") {
		t.Fatalf("size-only: %s", w.Body.String())
	}
	e.health.gc = api.GlobalRepoGC{PeerMap: map[string]api.IPFSRepoGC{
		"p1": {Peername: "one", Keys: []string{cidOf("x").String(), cidOf("y").String()}},
		"p2": {Peername: "two", Keys: []string{}, Error: "disk on fire"},
	}}
	w = e.post("/api/v0/repo/gc")
	ls := lines(t, w)
	if w.Code != 200 || len(ls) != 3 || fmt.Sprint(ls[0]["Key"]) != "map[/:"+cidOf("x").String()+"]" || !strings.Contains(fmt.Sprint(ls[2]["Error"]), "two: disk on fire") {
		t.Fatalf("repo gc: %d %v", w.Code, ls)
	}
}

func TestEmbeddedNodeEndpoints(t *testing.T) {
	e := newEnv(t)
	c := e.file("0123456789")

	w := e.post("/api/v0/cat?arg=" + c.String() + "&offset=2&length=5")
	if w.Code != 200 || w.Body.String() != "23456" || w.Header().Get("X-Stream-Output") != "1" || w.Header().Get("X-Content-Length") != "5" {
		t.Fatalf("cat: %d %v %q", w.Code, w.Header(), w.Body.String())
	}
	if w = e.post("/api/v0/cat?arg=" + cidOf("missing").String()); w.Code != 500 || !strings.Contains(w.Body.String(), "not found") {
		t.Fatalf("cat missing: %d %s", w.Code, w.Body.String())
	}
	if w = e.post("/api/v0/block/get?arg=" + c.String()); w.Code != 200 || w.Body.String() != "0123456789" {
		t.Fatalf("block get: %d %q", w.Code, w.Body.String())
	}
	if w = e.post("/api/v0/dag/export?arg=" + c.String()); w.Code != 200 || w.Body.String() != "CAR:0123456789" {
		t.Fatalf("dag export: %d %q", w.Code, w.Body.String())
	}
	w = e.post("/api/v0/id")
	if id := decode[idOutput](t, w); w.Code != 200 || id.ID == "" || id.PublicKey == "" || id.AgentVersion != "pincluster/9.9.9" {
		t.Fatalf("id: %d %s", w.Code, w.Body.String())
	}
	if w = e.post("/api/v0/id?arg=12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"); w.Code != 501 {
		t.Fatalf("id of another peer: %d %s", w.Code, w.Body.String())
	}
	if w = e.post("/api/v0/version"); w.Code != 200 || decode[map[string]string](t, w)["Version"] != "9.9.9" {
		t.Fatalf("version: %d %s", w.Code, w.Body.String())
	}

	// dag/import: every CAR imported, then the roots pinned; a bad CAR pins nothing.
	car := func(parts ...string) (*strings.Reader, string) {
		var files []string
		for _, p := range parts {
			files = append(files, "x.car", p)
		}
		b, ct := multipartFiles(files...)
		return strings.NewReader(b.String()), ct
	}
	body, ct := car("CAR:one", "garbage")
	before := e.pins.changes()
	if w = e.do(http.MethodPost, "/api/v0/dag/import", body, ct); w.Code != 400 || !strings.Contains(w.Body.String(), "bad CAR") {
		t.Fatalf("bad CAR: %d %s", w.Code, w.Body.String())
	}
	if !slices.Equal(before, e.pins.changes()) {
		t.Fatal("a bad CAR pinned something")
	}
	body, ct = car("CAR:one", "CAR:two")
	w = e.do(http.MethodPost, "/api/v0/dag/import", body, ct)
	ls := lines(t, w)
	if w.Code != 200 || len(ls) != 2 || !strings.Contains(fmt.Sprint(ls[1]["Root"]), cidOf("two").String()) {
		t.Fatalf("dag import: %d %v", w.Code, ls)
	}
	if _, err := e.pins.PinGet(t.Context(), cidOf("two")); err != nil {
		t.Fatal("dag import did not pin the root")
	}
	body, ct = car("CAR:three")
	if w = e.do(http.MethodPost, "/api/v0/dag/import?pin-roots=false", body, ct); w.Code != 200 || len(lines(t, w)) != 0 {
		t.Fatalf("pin-roots=false: %d %s", w.Code, w.Body.String())
	}
	if _, err := e.pins.PinGet(t.Context(), cidOf("three")); err == nil {
		t.Fatal("pin-roots=false pinned")
	}

	// As Kubo's: a CAR may list several roots, or none, and need not carry them; a root listed
	// twice is pinned once; a root whose block is nowhere here is reported, not pinned.
	body, ct = car("CAR:four,five,!six", "CAR:", "CAR:!four,seven,!eight", "CAR:six")
	w = e.do(http.MethodPost, "/api/v0/dag/import", body, ct)
	ls = lines(t, w)
	if w.Code != 200 || len(ls) != 5 {
		t.Fatalf("multi-root dag import: %d %v", w.Code, ls)
	}
	for i, name := range []string{"four", "five", "six", "seven", "eight"} {
		root := ls[i]["Root"].(map[string]any)
		if root["Cid"].(map[string]any)["/"] != cidOf(name).String() {
			t.Fatalf("line %d: %v, want root %s", i, root, name)
		}
		_, err := e.pins.PinGet(t.Context(), cidOf(name))
		if name == "eight" {
			if err == nil || !strings.Contains(fmt.Sprint(root["PinErrorMsg"]), "in none of the imported CARs") {
				t.Fatalf("a root carried by no CAR: pinned or unreported: %v", root)
			}
			continue
		}
		if err != nil || root["PinErrorMsg"] != "" {
			t.Fatalf("root %s not pinned: %v %v", name, err, root)
		}
	}
	if !slices.Contains(e.node.protected, cidOf("eight")) || !slices.Contains(e.node.protected, cidOf("four")) {
		t.Fatalf("the roots were not protected from gc before their pins: %v", e.node.protected)
	}
	body, ct = car("CAR:")
	if w = e.do(http.MethodPost, "/api/v0/dag/import", body, ct); w.Code != 200 || len(lines(t, w)) != 0 {
		t.Fatalf("a CAR without roots: %d %s", w.Code, w.Body.String())
	}
	// A pin that fails is its root's line, as in Kubo, whatever comes before it: the other
	// roots are still told.
	e.pins.fail = fmt.Errorf("%w: the pin queue is full", api.ErrUnavailable)
	body, ct = car("CAR:nine,!ten")
	w = e.do(http.MethodPost, "/api/v0/dag/import", body, ct)
	ls = lines(t, w)
	if w.Code != 200 || len(ls) != 2 || !strings.Contains(fmt.Sprint(ls[0]["Root"]), "queue is full") || !strings.Contains(fmt.Sprint(ls[1]["Root"]), "in none of the imported CARs") {
		t.Fatalf("a failing pin: %d %v", w.Code, ls)
	}
	e.pins.fail = nil

	// Anything else: 501 in Kubo's shape; outside the API: 404.
	w = e.post("/api/v0/swarm/peers")
	if ke := kuboErr(t, w); w.Code != 501 || ke.Code != codeNormal || !strings.Contains(ke.Message, "not implemented") {
		t.Fatalf("swarm peers: %d %s", w.Code, w.Body.String())
	}
	if w = e.post("/webui"); w.Code != 404 {
		t.Fatalf("/webui: %d", w.Code)
	}
}

// TestForwardToKubo: with the kubo backend, what the proxy does not handle goes to Kubo as it
// came (path, query, body), streamed back; the cluster operations do not; Kubo down is a 502.
func TestForwardToKubo(t *testing.T) {
	var got []string
	kubo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.RequestURI())
		w.Header().Set("X-Chunked-Output", "1")
		fmt.Fprintln(w, `{"Peers":[]}`)
	}))
	defer kubo.Close()
	u, _ := url.Parse(kubo.URL)
	e := newEnv(t)
	srv, err := New(DefaultConfig(), Deps{Pins: e.pins, Add: e.adder, Health: e.health, Node: e.node, Version: "1", Forward: "/ip4/127.0.0.1/tcp/" + u.Port()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	w := e.post("/api/v0/swarm/peers?verbose=true")
	if w.Code != 200 || w.Header().Get("X-Chunked-Output") != "1" || !strings.Contains(w.Body.String(), "Peers") {
		t.Fatalf("forwarded: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	w = e.post("/api/v0/pin/add?arg=" + cidOf("a").String())
	if w.Code != 200 || len(got) != 1 || got[0] != "POST /api/v0/swarm/peers?verbose=true" {
		t.Fatalf("pin add went to Kubo or failed: %d %s, Kubo saw %v", w.Code, w.Body.String(), got)
	}
	kubo.Close()
	if w = e.post("/api/v0/cat?arg=" + cidOf("a").String()); w.Code != 502 || !strings.Contains(kuboErr(t, w).Message, "cannot reach Kubo") {
		t.Fatalf("Kubo down: %d %s", w.Code, w.Body.String())
	}
}

// TestCrossOriginRefused: a browser page of another site cannot drive the proxy (no auth).
func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		header, value string
		want          int
	}{
		{"Origin", "http://evil.example", 403},
		{"Origin", "null", 403},
		{"Referer", "http://evil.example/page", 403},
		{"Origin", "http://example.com", 200}, // httptest's Host: the same origin
		{"", "", 200},
	} {
		r := httptest.NewRequest(http.MethodPost, "/api/v0/pin/add?arg="+cidOf("x").String(), nil)
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s: %s: status %d, want %d: %s", tc.header, tc.value, w.Code, tc.want, w.Body.String())
		}
	}
	if got := e.pins.changes(); len(got) != 2 {
		t.Fatalf("pins %v: only the same-origin requests pin", got)
	}
}
