package rest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/cartest"
	"github.com/pincluster/pincluster/ipfs/embedded"
)

// useEmbedded makes f's Add do what peer.Add does, on a real embedded IPFS node: parse the
// multipart body into files and add them, or import the CAR.
func useEmbedded(t testing.TB, f *fakeCluster) {
	t.Helper()
	n, err := embedded.New(context.Background(), embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	f.addFn = func(ctx context.Context, mr *multipart.Reader, car io.Reader, p api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
		if err := p.Validate(); err != nil {
			return api.CidUndef, err
		}
		if car != nil {
			root, err := n.ImportCAR(ctx, car)
			if err != nil {
				return api.CidUndef, fmt.Errorf("%w: %v", api.ErrInvalid, err)
			}
			out(api.AddedOutput{Name: root.String(), Cid: root})
			return root, nil
		}
		d, err := files.NewFileFromPartReader(mr, "multipart/form-data")
		if err != nil {
			return api.CidUndef, fmt.Errorf("%w: reading the multipart body: %v", api.ErrInvalid, err)
		}
		dir, ok := d.(files.Directory)
		if !ok {
			return api.CidUndef, fmt.Errorf("%w: the multipart body is not a file list", api.ErrInvalid)
		}
		return n.Add(ctx, dir, p, out)
	}
}

// multipartOf encodes dir as the clients do and returns the body bytes and Content-Type.
func multipartOf(t testing.TB, dir files.Directory) ([]byte, string) {
	t.Helper()
	mfr := files.NewMultiFileReader(dir, true, false)
	b, err := io.ReadAll(mfr)
	if err != nil {
		t.Fatal(err)
	}
	return b, "multipart/form-data; boundary=" + mfr.Boundary()
}

// rawCAR encodes a CARv1 with the given roots and blocks (internal/cartest).
func rawCAR(roots []cid.Cid, nodes ...*merkledag.ProtoNode) []byte {
	bs := make([]blocks.Block, len(nodes))
	for i, n := range nodes {
		bs[i] = n
	}
	return cartest.V1(roots, bs)
}

// Bad add input is a 4xx with a JSON message before anything is shown as added: a malformed or
// truncated multipart body, an unsupported hash, a CAR without its root, pin options over the
// limits. An empty directory is added and pinned as Kubo adds it.
func TestAddBadInputRealBackend(t *testing.T) {
	s, f := newTestServer(t, nil)
	useEmbedded(t, f)
	base := startServer(t, s)
	post := func(query string, body []byte, ct string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Post(base+"/add"+query, ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	two := files.NewMapDirectory(map[string]files.Node{"dir": files.NewMapDirectory(map[string]files.Node{
		"a.txt": files.NewBytesFile([]byte("first file")),
		"b.txt": files.NewBytesFile(bytes.Repeat([]byte("b"), 5000)),
	})})
	good, ct := multipartOf(t, two)
	truncated := good[:bytes.Index(good, bytes.Repeat([]byte("b"), 100))+100]
	emptyDir, emptyCT := multipartOf(t, files.NewMapDirectory(map[string]files.Node{"empty": files.NewMapDirectory(nil)}))
	leaf := merkledag.NodeWithData([]byte("leaf"))
	other := merkledag.NodeWithData([]byte("not in the CAR"))

	tests := []struct {
		name, query string
		body        []byte
		ct          string
		status      int
		msg         string
	}{
		{"truncated after a whole file", "", truncated, ct, 400, "invalid request"},
		{"garbage", "", []byte("this is not multipart"), ct, 400, "invalid request"},
		{"no closing boundary", "", good[:len(good)-8], ct, 400, "invalid request"},
		{"md5", "?hash=md5", good, ct, 400, "(use one of sha2-256, sha2-512"},
		{"name over 255 bytes", "?name=" + strings.Repeat("n", 256), good, ct, 400, "pin name is 256 bytes, over the limit of 255"},
		{"metadata over 16 KiB", "?meta-a=" + strings.Repeat("m", 16<<10), good, ct, 400, "metadata is 16385 bytes"},
		{"CAR without its root", "?format=car", rawCAR([]cid.Cid{other.Cid()}, leaf), "application/vnd.ipld.car", 400, "is not in the CAR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(tt.query, tt.body, tt.ct)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.msg) || strings.Contains(body, `"cid"`) {
				t.Fatalf("answer %d %q, want %d containing %q and nothing added", resp.StatusCode, body, tt.status, tt.msg)
			}
			wantJSONError(t, resp, body, tt.status, tt.msg)
		})
	}

	resp, body := post("", emptyDir, emptyCT)
	if resp.StatusCode != 200 || !strings.Contains(body, `"cid":"QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"`) || resp.Trailer.Get(streamErrorTrailer) != "" {
		t.Fatalf("empty directory: %d %q (trailer %q)", resp.StatusCode, body, resp.Trailer.Get(streamErrorTrailer))
	}
	resp, body = post("?format=car", rawCAR([]cid.Cid{leaf.Cid()}, leaf), "application/vnd.ipld.car")
	if resp.StatusCode != 200 || !strings.Contains(body, leaf.Cid().String()) {
		t.Fatalf("good CAR: %d %q", resp.StatusCode, body)
	}
}

// Lines are held back until the add ends, so an input error found halfway is still a 400 with
// nothing added, and so is any error after the last line, with its own status (a server error
// included: the pin did not happen, so nothing is shown as added).
func TestAddHoldsLinesUntilTheEnd(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	var failWith error
	f.addFn = func(ctx context.Context, mr *multipart.Reader, _ io.Reader, _ api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
		part, err := mr.NextPart()
		if err != nil {
			return api.CidUndef, err
		}
		io.ReadAll(part)
		out(api.AddedOutput{Name: "first", Cid: testCid("first")})
		return api.CidUndef, failWith
	}
	failWith = fmt.Errorf("%w: the second part is malformed", api.ErrInvalid)
	body, ct := kuboBody(t)
	wantError(t, do(t, h, "POST", "/add", body, "Content-Type", ct), 400, "the second part is malformed")

	failWith = fmt.Errorf("%w: pin-update: not in the pinset", api.ErrNotFound)
	body, ct = kuboBody(t)
	wantError(t, do(t, h, "POST", "/add", body, "Content-Type", ct), 404, "pin-update")

	failWith = fmt.Errorf("%w: pin queue is full", api.ErrUnavailable)
	body, ct = kuboBody(t)
	wantError(t, do(t, h, "POST", "/add", body, "Content-Type", ct), 503, "pin queue is full")

	failWith = fmt.Errorf("%w: the disk is full", api.ErrInsufficientStorage)
	body, ct = kuboBody(t)
	wantError(t, do(t, h, "POST", "/add", body, "Content-Type", ct), 507, "the disk is full")

	// After the pin, the lines are true: they go out, then the error in the trailer.
	failWith = &api.AfterPinError{Err: fmt.Errorf("%w: no allocated peer fetched it in time", api.ErrTimeout)}
	body, ct = kuboBody(t)
	resp := do(t, h, "POST", "/add", body, "Content-Type", ct)
	if ls := lines(t, resp, 200); len(ls) != 1 || !strings.Contains(resp.Trailer.Get(streamErrorTrailer), "in time") {
		t.Fatalf("lines %v, trailer %q", ls, resp.Trailer.Get(streamErrorTrailer))
	}
}

// Pin name and metadata limits apply to POST /pins (cid and path forms) before the cluster is
// asked anything.
func TestPinLimits(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	c := testCid("limits").String()
	for target, msg := range map[string]string{
		"/pins/" + c + "?name=" + strings.Repeat("x", 300):        "pin name is 300 bytes, over the limit of 255",
		"/pins/ipfs/" + c + "/a?name=" + strings.Repeat("x", 300): "pin name is 300 bytes",
		"/pins/" + c + "?meta-big=" + strings.Repeat("x", 17<<10): "over the limit of 16384",
		"/pins/" + c + "?name=%ff":                                "not valid UTF-8",
		"/pins/" + c + "?" + manyMeta(65):                         "metadata has 65 keys, over the limit of 64",
	} {
		wantError(t, do(t, h, "POST", target, nil), 400, msg)
	}
	if f.called("Pin") || f.called("PinPath") {
		t.Fatal("the cluster was asked to pin despite the limits")
	}
	p := decode[api.Pin](t, do(t, h, "POST", "/pins/"+c+"?name="+strings.Repeat("x", 255)+"&meta-team=infra", nil), 200)
	if len(p.Name) != 255 || p.Metadata["team"] != "infra" {
		t.Fatalf("pin at the limits: %+v", p)
	}
}

func manyMeta(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "&meta-k%d=v", i)
	}
	return b.String()
}

// FuzzAddBody: whatever the multipart body, POST /add (the real multipart parsing and the real
// embedded node) never panics and never answers a 5xx: a 200 whose stream carries no error, or
// a JSON 4xx.
func FuzzAddBody(f *testing.F) {
	const boundary = "fuzzboundary"
	part := func(name, ct, body string) string {
		s := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name + "\"\r\n"
		if ct != "" {
			s += "Content-Type: " + ct + "\r\n"
		}
		return s + "\r\n" + body + "\r\n"
	}
	end := "--" + boundary + "--\r\n"
	good := part("d", "application/x-directory", "") + part("d/a.txt", "application/octet-stream", "hello") + end
	for _, s := range []string{good, good[:len(good)/2], part("e", "application/x-directory", "") + end,
		part("l", "application/symlink", "target") + end, "garbage", "--" + boundary + "\r\n\r\n", end,
		part("a", "", "x") + part("a", "", "y") + end} {
		f.Add([]byte(s))
	}
	s, fc := newTestServer(f, nil)
	useEmbedded(f, fc)
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/add", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkAnswer(t, "POST /add", w)
		if e := w.Result().Trailer.Get(streamErrorTrailer); e != "" {
			t.Fatalf("200 with a stream error %q for body %q", e, body)
		}
	})
}
