package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

const testCid = "bafybeiary2ibmljf3l466qzk5hud3rnlk7zped37oik64zlfh22sa5nrg4"

func maddrOf(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	h, p, _ := net.SplitHostPort(u.Host)
	return fmt.Sprintf("/ip4/%s/tcp/%s", h, p)
}

// deadAddr returns a loopback multiaddr where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)
}

func newTestClient(t *testing.T, h http.Handler, cfg Config) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.Hosts = append(cfg.Hosts, maddrOf(t, srv))
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestBaseURL(t *testing.T) {
	cases := []struct {
		in, want string
		https    bool
		bad      bool
	}{
		{in: "/ip4/127.0.0.1/tcp/9094", want: "http://127.0.0.1:9094"},
		{in: "/ip4/127.0.0.1/tcp/9094", https: true, want: "https://127.0.0.1:9094"},
		{in: "/ip6/::1/tcp/9094", want: "http://[::1]:9094"},
		{in: "/dns4/example.com/tcp/443/https", want: "https://example.com:443"},
		{in: "localhost:9094", want: "http://localhost:9094"},
		{in: "http://h:1/", want: "http://h:1"},
		{in: "/ip4/127.0.0.1", bad: true},
		{in: "/nope", bad: true},
		{in: "nonsense", bad: true},
	}
	for _, tc := range cases {
		got, err := baseURL(tc.in, tc.https)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: want error, got %s", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestPinPath(t *testing.T) {
	cases := map[string]string{
		"/ipfs/" + testCid + "/a/b c": "/pins/ipfs/" + testCid + "/a/b%20c",
		"/ipns/example.com":           "/pins/ipns/example.com",
		testCid + "/x":                "/pins/ipfs/" + testCid + "/x",
	}
	for in, want := range cases {
		got, err := pinPath(in)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := pinPath("/ipfs/"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("empty path: got %v", err)
	}
}

func TestStreamNDJSONAndArray(t *testing.T) {
	bodies := map[string]string{
		"ndjson": `{"peername":"a"}` + "\n" + `{"peername":"b"}` + "\n",
		"array":  `[{"peername":"a"} , {"peername":"b"}]`,
		"spaces": "\n  " + `{"peername":"a"}{"peername":"b"}` + "\n\n",
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/peers" {
					http.NotFound(w, r)
					return
				}
				io.WriteString(w, body)
			}), Config{})
			var names []string
			err := c.Peers(context.Background(), func(id api.ID) error { names = append(names, id.Peername); return nil })
			if err != nil || strings.Join(names, ",") != "a,b" {
				t.Fatalf("got %v, %v", names, err)
			}
		})
	}
}

func TestStreamEmptyAndBad(t *testing.T) {
	for body, wantErr := range map[string]bool{"": false, "[]": false, "[{}": true, `{"peername":`: true, `]`: true} {
		c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }), Config{})
		n := 0
		err := c.Peers(context.Background(), func(api.ID) error { n++; return nil })
		if (err != nil) != wantErr {
			t.Errorf("body %q: err=%v, want error %v", body, err, wantErr)
		}
	}
}

func TestStreamFnErrorStops(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"peername":"a"}`+"\n"+`{"peername":"b"}`+"\n")
	}), Config{})
	stop := errors.New("stop")
	n := 0
	err := c.Peers(context.Background(), func(api.ID) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("got n=%d err=%v", n, err)
	}
}

func TestTrailerError(t *testing.T) {
	for _, tc := range []struct {
		trailer, code string
		want          int
	}{
		{"state store failed", "", 500},                          // an older daemon, IPFS Cluster
		{`{"code":503,"message":"state store failed"}`, "", 503}, // JSON in the trailer
		{"state store failed", "503", 503},                       // the code trailer
		{"state store failed", "nonsense", 500},                  // ignored
		{"state store failed", "200", 500},                       // not an error status: ignored
	} {
		c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", StreamErrorTrailer+", "+StreamErrorCodeTrailer)
			io.WriteString(w, `{"cid":"`+testCid+`"}`+"\n")
			w.Header().Set(StreamErrorTrailer, tc.trailer)
			if tc.code != "" {
				w.Header().Set(StreamErrorCodeTrailer, tc.code)
			}
		}), Config{})
		n := 0
		err := c.StatusAll(context.Background(), "", false, nil, func(api.GlobalPinInfo) error { n++; return nil })
		var ae api.Error
		if !errors.As(err, &ae) || ae.Message != "state store failed" || ae.Code != tc.want || n != 1 {
			t.Fatalf("trailer %q code %q: got n=%d err=%#v, want code %d", tc.trailer, tc.code, n, err, tc.want)
		}
	}
}

func TestAPIError(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   api.Error
	}{
		{404, `{"code":404,"message":"pin not found"}`, api.Error{Code: 404, Message: "pin not found"}},
		{400, `{"message":"bad"}`, api.Error{Code: 400, Message: "bad"}},
		{500, "plain text\n", api.Error{Code: 500, Message: "plain text"}},
		{401, "", api.Error{Code: 401, Message: "Unauthorized"}},
	}
	for _, tc := range cases {
		c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}), Config{})
		_, err := c.ID(context.Background())
		var ae api.Error
		if !errors.As(err, &ae) || ae != tc.want {
			t.Errorf("%d %q: got %#v", tc.status, tc.body, err)
		}
	}
}

func TestFailOver(t *testing.T) {
	dead := deadAddr(t)
	hits := 0
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		io.WriteString(w, `{"version":"1.2.3"}`)
	}), Config{Hosts: []string{dead}})
	for i := 0; i < 2; i++ {
		v, err := c.Version(context.Background())
		if err != nil || v.Version != "1.2.3" {
			t.Fatalf("got %v, %v", v, err)
		}
	}
	if hits != 2 || c.hostName() == dead {
		t.Fatalf("hits=%d host=%s", hits, c.hostName())
	}
}

func TestConnectionRefusedMessage(t *testing.T) {
	dead := deadAddr(t)
	c, err := New(Config{Hosts: []string{dead}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ID(context.Background())
	var ce *ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v", err)
	}
	want := "cannot reach the pincluster daemon at " + dead + ": connection refused (is `pincluster daemon` running? set --host or --config)"
	if err.Error() != want {
		t.Fatalf("got  %q\nwant %q", err, want)
	}
}

func TestBasicAuthAndQuery(t *testing.T) {
	var gotQuery url.Values
	var user, pass string
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		gotQuery = r.URL.Query()
		if r.Method != http.MethodPost || r.URL.Path != "/pins/"+testCid {
			http.Error(w, `{"code":400,"message":"wrong route"}`, 400)
			return
		}
		io.WriteString(w, `{"cid":"`+testCid+`","name":"n","type":"pin","allocations":[]}`)
	}), Config{Username: "u", Password: "p"})
	ci, _ := api.DecodeCid(testCid)
	pin, err := c.Pin(context.Background(), ci, api.PinOptions{Name: "n", ReplicationFactorMin: 1, ReplicationFactorMax: 2, Metadata: map[string]string{"k": "v"}})
	if err != nil || pin.Name != "n" {
		t.Fatalf("got %v, %v", pin, err)
	}
	if user != "u" || pass != "p" || gotQuery.Get("name") != "n" || gotQuery.Get("replication-min") != "1" || gotQuery.Get("meta-k") != "v" {
		t.Fatalf("auth %s:%s query %v", user, pass, gotQuery)
	}
}

func TestTimeout(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pins" { // a stream that stalls after one item
			io.WriteString(w, `{"cid":"`+testCid+`"}`+"\n")
			w.(http.Flusher).Flush()
		}
		<-r.Context().Done()
	})
	c, _ := newTestClient(t, h, Config{Timeout: 100 * time.Millisecond})
	if _, err := c.ID(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("simple call: got %v", err)
	}
	// The stream's client has a second: it must dial, ask and get its first item within the
	// timeout before it stalls, which 100 ms left too little for on a loaded machine.
	c, _ = newTestClient(t, h, Config{Timeout: time.Second})
	n := 0
	err := c.StatusAll(context.Background(), "", false, nil, func(api.GlobalPinInfo) error { n++; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || n != 1 {
		t.Fatalf("stream: n=%d err=%v", n, err)
	}
}

type part struct{ name, ctype, body string }

func TestAddMultipartShape(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "my dir")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(root, "a.txt"), []byte("aaa"), 0o644))
	must(os.WriteFile(filepath.Join(root, "sub", "b.txt"), []byte("bbb"), 0o644))
	must(os.WriteFile(filepath.Join(root, ".hidden"), []byte("h"), 0o644))
	single := filepath.Join(dir, "single.bin")
	must(os.WriteFile(single, []byte("single"), 0o644))

	var parts []part
	var query url.Values
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query()
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" {
			http.Error(w, "bad content type", 400)
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			_, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
			name, _ := url.QueryUnescape(dp["filename"])
			b, _ := io.ReadAll(p)
			parts = append(parts, part{name, p.Header.Get("Content-Type"), string(b)})
			json.NewEncoder(w).Encode(api.AddedOutput{Name: name, Bytes: uint64(len(b))})
		}
		json.NewEncoder(w).Encode(api.AddedOutput{Name: "my dir", Cid: mustCid(t, testCid)})
	}), Config{})

	params := api.DefaultAddParams()
	params.Recursive = true
	var outs []api.AddedOutput
	err := c.Add(context.Background(), []string{root, single}, params, func(o api.AddedOutput) { outs = append(outs, o) })
	if err != nil {
		t.Fatal(err)
	}
	want := []part{
		{"my dir", "application/x-directory", ""},
		{"my dir/a.txt", "application/octet-stream", "aaa"},
		{"my dir/sub", "application/x-directory", ""},
		{"my dir/sub/b.txt", "application/octet-stream", "bbb"},
		{"single.bin", "application/octet-stream", "single"},
	}
	if fmt.Sprint(parts) != fmt.Sprint(want) {
		t.Fatalf("parts:\n got %v\nwant %v", parts, want)
	}
	if query.Get("recursive") != "true" || query.Get("chunker") != "size-262144" {
		t.Fatalf("query %v", query)
	}
	if len(outs) != 6 || outs[5].Cid.String() != testCid {
		t.Fatalf("outputs %v", outs)
	}

	// Hidden files are sent with params.Hidden.
	parts = nil
	params.Hidden = true
	if err := c.Add(context.Background(), []string{root}, params, nil); err != nil {
		t.Fatal(err)
	}
	if len(parts) != 5 || parts[1].name != "my dir/.hidden" {
		t.Fatalf("hidden parts %v", parts)
	}

	// A directory without -r is refused before any request.
	parts = nil
	params.Recursive = false
	err = c.Add(context.Background(), []string{root}, params, nil)
	if err == nil || !strings.Contains(err.Error(), "is a directory: use -r") || parts != nil {
		t.Fatalf("got %v, parts %v", err, parts)
	}
	// CAR: exactly one file, sent as one part.
	params.Format = "car"
	if err := c.Add(context.Background(), []string{single, single}, params, nil); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("two cars: %v", err)
	}
	if err := c.Add(context.Background(), []string{single}, params, nil); err != nil || len(parts) != 1 || query.Get("format") != "car" {
		t.Fatalf("car: %v %v %v", err, parts, query)
	}
}

func mustCid(t *testing.T, s string) api.Cid {
	t.Helper()
	c, err := api.DecodeCid(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// countingBody counts what the transport read of a request body.
type countingBody struct {
	n   atomic.Int64
	src io.Reader
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.src.Read(p)
	b.n.Add(int64(n))
	return n, err
}
func (b *countingBody) Close() error { return nil }

// A batch (and an add) asks for the server's go-ahead before its body: a refusal comes back as
// the server's error with nothing of a large body sent, not as a reset while uploading (QA:
// "cannot reach the daemon" for a client without pin permission).
func TestBatchWaitsForTheGoAhead(t *testing.T) {
	var expect string
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		expect = r.Header.Get("Expect")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"code":403,"message":"user bob lacks the pin permission"}`)
	}), Config{})
	body := &countingBody{src: strings.NewReader(strings.Repeat("bafkqaaa\n", 1<<20))}
	err := c.Batch(context.Background(), api.BatchPin, api.PinOptions{}, func() (io.ReadCloser, error) { return body, nil }, func(api.BatchEvent) error { return nil })
	var ae api.Error
	if !errors.As(err, &ae) || ae.Code != http.StatusForbidden {
		t.Fatalf("err = %v, want the server's 403", err)
	}
	if expect != "100-continue" || body.n.Load() != 0 {
		t.Fatalf("Expect %q, %d body bytes sent before the refusal", expect, body.n.Load())
	}
}
