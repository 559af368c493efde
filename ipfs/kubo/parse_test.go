package kubo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// Canned Kubo answers: these tests need no daemon.

const (
	cidA = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
	cidB = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
)

func TestParseError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   error // nil: no sentinel
		msg    string
	}{
		{"not pinned", 500, "application/json", `{"Message":"not pinned or pinned indirectly","Code":0,"Type":"error"}`, ipfs.ErrNotPinned, "not pinned or pinned indirectly"},
		{"pin ls not pinned", 500, "application/json", `{"Message":"path '/ipfs/` + cidA + `' is not pinned","Code":0,"Type":"error"}`, ipfs.ErrNotPinned, "is not pinned"},
		{"no link", 500, "application/json", `{"Message":"no link named \"x\" under ` + cidA + `","Code":0,"Type":"error"}`, api.ErrNotFound, "no link named"},
		{"offline", 500, "application/json", `{"Message":"block was not found locally (offline): ipld: could not find ` + cidB + `","Code":0,"Type":"error"}`, api.ErrNotFound, "could not find"},
		{"deadline", 500, "application/json", `{"Message":"context deadline exceeded","Code":0,"Type":"error"}`, api.ErrTimeout, "deadline"},
		{"client", 400, "application/json", `{"Message":"invalid path \"/x\"","Code":1,"Type":"error"}`, api.ErrInvalid, "invalid path"},
		{"text 400", 400, "text/plain", "unknown option \"foo\"\n", api.ErrInvalid, "unknown option"},
		{"other", 500, "application/json", `{"Message":"disk on fire","Code":0,"Type":"error"}`, nil, "disk on fire"},
		{"empty", 500, "", "", nil, "HTTP 500"},
		{"404 not kubo", 404, "text/plain", "404 page not found", nil, "RPC API port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseError("cmd", tt.status, tt.ctype, []byte(tt.body))
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			for _, s := range []error{ipfs.ErrNotPinned, api.ErrNotFound, api.ErrTimeout, api.ErrInvalid} {
				if errors.Is(err, s) != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, !(s == tt.want))
				}
			}
		})
	}
}

func TestDecodePinAdd(t *testing.T) {
	body := `{"Progress":3,"Bytes":100}
{"Bytes":120}
{"Progress":3,"Bytes":150}
{"Progress":10,"Bytes":900}
{"Pins":["` + cidA + `"]}
`
	var got []uint64
	pins, err := decodePinAdd(strings.NewReader(body), func(n uint64) { got = append(got, n) })
	if err != nil || len(pins) != 1 || pins[0] != cidA {
		t.Fatalf("pins %v, err %v", pins, err)
	}
	if fmt.Sprint(got) != "[3 10]" {
		t.Fatalf("progress %v, want [3 10] (only increases)", got)
	}
	if _, err := decodePinAdd(strings.NewReader(`{"Progress":1}{"Pins":`), nil); err == nil {
		t.Fatal("truncated stream accepted")
	}
}

func TestDecodePinLs(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"stream", `{"Cid":"` + cidA + `","Name":"","Type":"recursive"}
{"Cid":"` + cidB + `","Type":"direct"}
{"Cid":"` + cidB + `","Type":"indirect through ` + cidA + `"}
`, cidA + " recursive," + cidB + " direct,"},
		{"map", `{"Keys":{"` + cidA + `":{"Type":"recursive","Name":""}}}`, cidA + " recursive,"},
		{"empty", ``, ""},
	}
	for _, tt := range tests {
		var got strings.Builder
		err := decodePinLs(strings.NewReader(tt.body), func(c api.Cid, m api.PinMode) error {
			fmt.Fprintf(&got, "%s %s,", c, m)
			return nil
		})
		if err != nil || got.String() != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got.String(), err, tt.want)
		}
	}
	if err := decodePinLs(strings.NewReader(`{"Cid":"nope","Type":"direct"}`), func(api.Cid, api.PinMode) error { return nil }); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("bad CID: %v", err)
	}
}

func TestDecodeAdd(t *testing.T) {
	body := `{"Name":"dir/a","Bytes":262144}
{"Name":"dir/a","Hash":"` + cidB + `","Size":"11"}
{"Name":"dir","Hash":"` + cidA + `","Size":"70"}
`
	var outs []string
	root, err := decodeAdd(strings.NewReader(body), func(o api.AddedOutput) {
		outs = append(outs, fmt.Sprintf("%s|%s|%d|%d", o.Name, o.Cid, o.Size, o.Bytes))
	})
	if err != nil || root.String() != cidA {
		t.Fatalf("root %s, %v", root, err)
	}
	want := []string{"dir/a|" + api.CidUndef.String() + "|0|262144", "dir/a|" + cidB + "|11|0", "dir|" + cidA + "|70|0"}
	if fmt.Sprint(outs) != fmt.Sprint(want) {
		t.Fatalf("outputs %v, want %v", outs, want)
	}
	if _, err := decodeAdd(strings.NewReader(`{"Name":"x","Hash":"`+cidA+`","Size":"big"}`), nil); err == nil {
		t.Fatal("bad Size accepted")
	}
}

func TestDecodeGCAndResolveAndID(t *testing.T) {
	removed, err := decodeGC(strings.NewReader(`{"Key":{"/":"` + cidB + `"}}` + "\n" + `{"Key":{"/":"` + cidA + `"}}`))
	if err != nil || len(removed) != 2 || removed[0].String() != cidB {
		t.Fatalf("gc: %v, %v", removed, err)
	}
	if _, err := decodeGC(strings.NewReader(`{"Key":{"/":"` + cidB + `"}}{"Error":"could not remove x"}`)); err == nil || !strings.Contains(err.Error(), "could not remove") {
		t.Fatalf("gc error line: %v", err)
	}

	for body, want := range map[string]string{
		`{"Path":"/ipfs/` + cidA + `"}`:         cidA,
		`{"Path":"/ipfs/` + cidB + `/field/x"}`: cidB,
		`{"Path":"/ipld/` + cidB + `"}`:         cidB,
		`{"Path":"/ipns/example.com"}`:          "",
		`{"Path":"/ipfs/notacid"}`:              "",
		`{"Path":""}`:                           "",
		`not json`:                              "",
	} {
		c, err := decodeResolve(strings.NewReader(body))
		if (want == "") != (err != nil) || (want != "" && c.String() != want) {
			t.Errorf("decodeResolve(%s) = %v, %v; want %q", body, c, err, want)
		}
	}

	id, err := decodeID(strings.NewReader(`{"ID":"12D3KooWx","PublicKey":"k","Addresses":null,"AgentVersion":"kubo/0.43.0/","Protocols":[]}`))
	if err != nil || id.ID != "12D3KooWx" || id.Addresses == nil {
		t.Fatalf("id %+v, %v", id, err)
	}
	if _, err := decodeID(strings.NewReader(`{}`)); err == nil {
		t.Fatal("empty ID accepted")
	}
}

func TestToRepoStat(t *testing.T) {
	noFS := func(string) (uint64, bool) { return 0, false }
	fs := func(free uint64) func(string) (uint64, bool) {
		return func(string) (uint64, bool) { return free, true }
	}
	tests := []struct {
		name string
		out  repoStatOut
		free func(string) (uint64, bool)
		want uint64
	}{
		{"storage max", repoStatOut{RepoSize: 100, StorageMax: 1000}, noFS, 900},
		{"disk smaller", repoStatOut{RepoSize: 100, StorageMax: 1000}, fs(50), 50},
		{"disk larger", repoStatOut{RepoSize: 100, StorageMax: 1000}, fs(5000), 900},
		{"over the limit", repoStatOut{RepoSize: 2000, StorageMax: 1000}, fs(5000), 0},
		{"no limit", repoStatOut{RepoSize: 100, StorageMax: 1<<64 - 1}, fs(5000), 5000},
		{"limit unknown", repoStatOut{RepoSize: 100}, fs(5000), 5000},
	}
	for _, tt := range tests {
		if got := toRepoStat(tt.out, tt.free).FreeSpace; got != tt.want {
			t.Errorf("%s: FreeSpace %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestAPIBase(t *testing.T) {
	tests := []struct {
		addr, want string
		unix       bool
	}{
		{"/ip4/127.0.0.1/tcp/5001", "http://127.0.0.1:5001/api/v0/", false},
		{"/ip6/::1/tcp/5001", "http://[::1]:5001/api/v0/", false},
		{"/dns4/ipfs.local/tcp/5001", "http://ipfs.local:5001/api/v0/", false},
		{"/ip4/10.0.0.1/tcp/443/https", "https://10.0.0.1:443/api/v0/", false},
		{"/ip4/10.0.0.1/tcp/443/tls/http", "https://10.0.0.1:443/api/v0/", false},
		{"/unix/tmp/ipfs.sock", "http://unix/api/v0/", true},
		{"http://127.0.0.1:5001", "http://127.0.0.1:5001/api/v0/", false},
		{"https://ipfs.example.com/", "https://ipfs.example.com/api/v0/", false},
	}
	for _, tt := range tests {
		got, dial, err := apiBase(tt.addr)
		if err != nil || got != tt.want || (dial != nil) != tt.unix {
			t.Errorf("apiBase(%q) = %q, dial %v, %v; want %q", tt.addr, got, dial != nil, err, tt.want)
		}
	}
	for _, bad := range []string{"", "/ip4/127.0.0.1", "not an address", "/ip4/1.2.3.4/udp/5001", "http://"} {
		if _, _, err := apiBase(bad); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("apiBase(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// fakeKubo serves canned answers per command.
func fakeKubo(t testing.TB, handlers map[string]http.HandlerFunc) *Node {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v0/id", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ID":"12D3KooWfake","Addresses":["/ip4/127.0.0.1/tcp/4001"]}`)
	})
	for cmd, h := range handlers {
		mux.HandleFunc("/api/v0/"+cmd, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	n, err := New(context.Background(), Config{NodeMultiaddress: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func kuboErr(status int, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"Message":%q,"Code":0,"Type":"error"}`, msg)
	}
}

func TestCannedCalls(t *testing.T) {
	c, _ := api.DecodeCid(cidA)
	n := fakeKubo(t, map[string]http.HandlerFunc{
		"pin/rm": kuboErr(500, "not pinned or pinned indirectly"),
		// A stream cut by an error: Kubo reports it in the X-Stream-Error trailer.
		"pin/add": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", streamErrHeader)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"Progress":5}`+"\n")
			w.(http.Flusher).Flush()
			w.Header().Set(streamErrHeader, "failed to fetch all nodes: context deadline exceeded")
		},
		"pin/ls": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("type") == "recursive" {
				kuboErr(500, "path '"+r.URL.Query().Get("arg")+"' is not pinned")(w, r)
				return
			}
			fmt.Fprintf(w, `{"Cid":%q,"Type":"direct"}`, r.URL.Query().Get("arg"))
		},
		"repo/stat": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"RepoSize":100,"StorageMax":1000,"NumObjects":7,"RepoPath":"","Version":"fs-repo@16"}`)
		},
		"resolve": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("recursive") != "true" || !strings.HasSuffix(r.URL.Query().Get("arg"), "/a") {
				kuboErr(400, "bad request")(w, r)
				return
			}
			fmt.Fprintf(w, `{"Path":"/ipfs/%s"}`, cidB)
		},
	})
	ctx := context.Background()
	if id, err := n.ID(ctx); err != nil || id.ID != "12D3KooWfake" {
		t.Fatalf("ID = %+v, %v", id, err)
	}
	if err := n.Unpin(ctx, c); !errors.Is(err, ipfs.ErrNotPinned) {
		t.Fatalf("Unpin = %v, want ErrNotPinned", err)
	}
	var progress uint64
	err := n.Pin(ctx, c, api.PinModeRecursive, func(b uint64) { progress = b })
	if !errors.Is(err, api.ErrTimeout) || progress != 5 {
		t.Fatalf("Pin = %v (progress %d), want ErrTimeout after progress 5", err, progress)
	}
	if ok, mode, err := n.IsPinned(ctx, c); err != nil || !ok || mode != api.PinModeDirect {
		t.Fatalf("IsPinned = %v %v %v", ok, mode, err)
	}
	if st, err := n.RepoStat(ctx); err != nil || st.FreeSpace != 900 || st.NumObjects != 7 {
		t.Fatalf("RepoStat = %+v, %v", st, err)
	}
	if got, err := n.Resolve(ctx, "/ipfs/"+cidA+"/a"); err != nil || got.String() != cidB {
		t.Fatalf("Resolve = %v, %v", got, err)
	}
	if got, err := n.Resolve(ctx, cidA); err != nil || got.String() != cidA {
		t.Fatalf("Resolve(bare CID) = %v, %v (no call expected)", got, err)
	}
	if _, err := n.Resolve(ctx, "/ipfs/"+cidA+"/b"); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("Resolve(400) = %v", err)
	}
	if _, err := n.GC(ctx); err == nil || !strings.Contains(err.Error(), "RPC API port") {
		t.Fatalf("GC on a server without repo/gc = %v", err)
	}
}

func TestNewUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	_, err := New(context.Background(), Config{NodeMultiaddress: addr})
	if err == nil || !strings.Contains(err.Error(), "is `ipfs daemon` running?") || !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("New = %v", err)
	}
}
