package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/ipfs/boxo/files"
	"github.com/pincluster/pincluster/api"
)

// kuboBody builds a multipart body the way IPFS Cluster's and Kubo's clients do.
func kuboBody(t testing.TB) (io.Reader, string) {
	t.Helper()
	dir := files.NewSliceDirectory([]files.DirEntry{
		files.FileEntry("a.txt", files.NewBytesFile([]byte("hello"))),
		files.FileEntry("sub", files.NewSliceDirectory([]files.DirEntry{
			files.FileEntry("b.txt", files.NewBytesFile([]byte("world"))),
		})),
	})
	root := files.NewSliceDirectory([]files.DirEntry{files.FileEntry("dir", dir)})
	mfr := files.NewMultiFileReader(root, true, false)
	return mfr, "multipart/form-data; boundary=" + mfr.Boundary()
}

// carBody wraps b as the one file of a multipart body.
func carBody(t testing.TB, b []byte) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, err := mw.CreateFormFile("file", "x.car")
	if err != nil {
		t.Fatal(err)
	}
	part.Write(b)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func decodeAdded(t testing.TB, ls []string) []api.AddedOutput {
	t.Helper()
	out := make([]api.AddedOutput, len(ls))
	for i, l := range ls {
		if err := json.Unmarshal([]byte(l), &out[i]); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	return out
}

func TestAddMultipart(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	body, ct := kuboBody(t)
	out := decodeAdded(t, lines(t, do(t, h, "POST", "/add?name=x&replication-min=1&replication-max=2&chunker=size-1024", body, "Content-Type", ct), 200))
	// Directory parts and two files; no progress lines unless asked.
	var names []string
	for _, o := range out {
		if !o.Cid.Defined() {
			t.Fatalf("progress line without progress=true: %+v", o)
		}
		names = append(names, o.Name)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "a.txt") || !strings.Contains(got, "b.txt") {
		t.Fatalf("added %v", names)
	}
	args := f.lastCall(t, "Add").Args
	p := args[2].(api.AddParams)
	if args[0] != true || args[1] != false || p.Name != "x" || p.ReplicationFactorMax != 2 || p.Chunker != "size-1024" {
		t.Fatalf("Add args = %v", args)
	}

	body, ct = kuboBody(t)
	out = decodeAdded(t, lines(t, do(t, h, "POST", "/add?progress=true", body, "Content-Type", ct), 200))
	progress := 0
	for _, o := range out {
		if !o.Cid.Defined() && o.Bytes > 0 {
			progress++
		}
	}
	if progress == 0 {
		t.Fatalf("no progress lines with progress=true: %+v", out)
	}
}

func TestAddCAR(t *testing.T) {
	s, f := newTestServer(t, nil)
	h := s.Handler()
	raw := []byte("car bytes")
	want := testCid(string(raw))

	out := decodeAdded(t, lines(t, do(t, h, "POST", "/add?format=car", bytes.NewReader(raw), "Content-Type", "application/vnd.ipld.car"), 200))
	if len(out) != 1 || out[0].Cid != want {
		t.Fatalf("raw CAR: %+v", out)
	}
	if args := f.lastCall(t, "Add").Args; args[0] != false || args[1] != true {
		t.Fatalf("Add args = %v", args)
	}
	body, ct := carBody(t, raw)
	out = decodeAdded(t, lines(t, do(t, h, "POST", "/add?format=car", body, "Content-Type", ct), 200))
	if len(out) != 1 || out[0].Cid != want {
		t.Fatalf("multipart CAR: %+v", out)
	}
}

func TestAddErrors(t *testing.T) {
	s, f := newTestServer(t, func(c *Config) { c.MaxAddBytes = 100 })
	h := s.Handler()
	empty := func() (io.Reader, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	eb, ect := empty()
	wantError(t, do(t, h, "POST", "/add", eb, "Content-Type", ect), 400, "nothing to add")
	eb, ect = empty()
	wantError(t, do(t, h, "POST", "/add?format=car", eb, "Content-Type", ect), 400, "no file part")
	wantError(t, do(t, h, "POST", "/add", nil), 400, "nothing to add")
	wantError(t, do(t, h, "POST", "/add", strings.NewReader("x"), "Content-Type", "text/plain"), 400, "multipart/form-data")
	wantError(t, do(t, h, "POST", "/add?layout=spiral", strings.NewReader("x")), 400, "unknown layout")
	wantError(t, do(t, h, "POST", "/add?format=tar", strings.NewReader("x")), 400, "unknown format")
	wantError(t, do(t, h, "POST", "/add?expire-in=-5m", strings.NewReader("x")), 400, "must be positive")
	wantError(t, do(t, h, "POST", "/add?expire-at=2020-01-02T03:04:05Z", strings.NewReader("x")), 400, "not in the future")
	wantError(t, do(t, h, "POST", "/add?progress=sure", strings.NewReader("x")), 400, "progress")
	wantError(t, do(t, h, "POST", "/add?format=car", strings.NewReader(strings.Repeat("x", 101))), 413, "max_add_bytes")

	// Over the limit without a Content-Length: the limit trips while Add reads.
	r, w := io.Pipe()
	go func() { w.Write(bytes.Repeat([]byte("x"), 500)); w.Close() }()
	wantError(t, do(t, h, "POST", "/add?format=car", chunked{r}), 413, "max_add_bytes")
	// Even when Add hides the MaxBytesError behind its own error.
	f.addFn = func(ctx context.Context, _ *multipart.Reader, car io.Reader, _ api.AddParams, _ func(api.AddedOutput)) (api.Cid, error) {
		_, err := io.ReadAll(car)
		return api.CidUndef, fmt.Errorf("import failed: %v", err)
	}
	r, w = io.Pipe()
	go func() { w.Write(bytes.Repeat([]byte("x"), 500)); w.Close() }()
	wantError(t, do(t, h, "POST", "/add?format=car", chunked{r}), 413, "max_add_bytes")

	f.addFn = func(ctx context.Context, _ *multipart.Reader, car io.Reader, _ api.AddParams, _ func(api.AddedOutput)) (api.Cid, error) {
		io.ReadAll(car)
		return api.CidUndef, fmt.Errorf("reading the CAR header: %w", api.ErrBadCAR)
	}
	wantError(t, do(t, h, "POST", "/add?format=car", strings.NewReader("not a car")), 400, "bad CAR")
	f.addFn = nil
	f.err = fmt.Errorf("%w: pin queue is full", api.ErrUnavailable)
	body, ct := kuboBody(t)
	wantError(t, do(t, h, "POST", "/add", io.LimitReader(body, 100), "Content-Type", ct), 503, "pin queue is full")
}

// chunked hides the body's length so the request has none.
type chunked struct{ io.Reader }

// An Add that fails after its first line: while the lines are still held the error is a JSON
// error with nothing shown as added; once they were released (progress=true streams them at
// once) it travels in the trailer.
func TestAddStreamError(t *testing.T) {
	s, f := newTestServer(t, nil)
	base := startServer(t, s)
	f.addFn = func(ctx context.Context, mr *multipart.Reader, _ io.Reader, _ api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
		// The whole body is read first, as an add does before it fails on its content: an
		// answer while the client still writes (the add's connection closes after it) races
		// with its write, which then fails with a broken pipe instead of reading the answer.
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			io.ReadAll(part)
		}
		out(api.AddedOutput{Name: "a", Bytes: 1})
		out(api.AddedOutput{Name: "a", Cid: testCid("a")})
		return api.CidUndef, errors.New("disk full")
	}
	body, ct := kuboBody(t)
	resp, err := http.Post(base+"/add", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, resp, 500, "disk full")

	body, ct = kuboBody(t)
	resp, err = http.Post(base+"/add?progress=true", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	if ls := lines(t, resp, 200); len(ls) != 2 {
		t.Fatalf("lines %v", ls)
	}
	if got := resp.Trailer.Get(streamErrorTrailer); got != "disk full" {
		t.Fatalf("X-Stream-Error = %q", got)
	}
}

// Over real HTTP, progress lines reach the client while it is still sending the body.
func TestAddFullDuplex(t *testing.T) {
	s, f := newTestServer(t, nil)
	base := startServer(t, s)
	f.addFn = func(ctx context.Context, _ *multipart.Reader, car io.Reader, _ api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
		buf := make([]byte, 4)
		var n uint64
		for {
			k, err := io.ReadFull(car, buf)
			n += uint64(k)
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				return api.CidUndef, err
			}
			out(api.AddedOutput{Name: "car", Bytes: n})
		}
		root := testCid("root")
		out(api.AddedOutput{Name: "root", Cid: root})
		return root, nil
	}
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", base+"/add?format=car&progress=true", pr)
	respCh := make(chan *http.Response, 1)
	errCh := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errCh <- err
			return
		}
		respCh <- resp
	}()
	pw.Write([]byte("abcd")) // one progress line; the body stays open
	var resp *http.Response
	select {
	case resp = <-respCh:
	case err := <-errCh:
		t.Fatal(err)
	case <-timeout(t):
		t.Fatal("no response while the body is still open")
	}
	dec := json.NewDecoder(resp.Body)
	var o api.AddedOutput
	if err := dec.Decode(&o); err != nil || o.Bytes != 4 {
		t.Fatalf("first line %+v, %v", o, err)
	}
	pw.Write([]byte("efgh"))
	pw.Close()
	ls := lines(t, resp, 200)
	if len(ls) != 2 || !strings.Contains(ls[1], testCid("root").String()) {
		t.Fatalf("rest %v", ls)
	}
}
