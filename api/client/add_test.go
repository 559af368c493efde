package client

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// partRecorder is a POST /add handler that records the parts it reads; onPart, if set, is
// called with each part before it is read and returns what it read of it.
type partRecorder struct {
	mu     sync.Mutex
	parts  []part
	onPart func(p *multipart.Part) string
}

func (pr *partRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
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
		var head string
		if pr.onPart != nil {
			head = pr.onPart(p)
		}
		_, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		name, _ := url.QueryUnescape(dp["filename"])
		b, err := io.ReadAll(io.MultiReader(strings.NewReader(head), p))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		pr.mu.Lock()
		pr.parts = append(pr.parts, part{name, p.Header.Get("Content-Type"), string(b)})
		pr.mu.Unlock()
	}
	root, _ := api.DecodeCid(testCid)
	json.NewEncoder(w).Encode(api.AddedOutput{Name: "root", Cid: root})
}

func (pr *partRecorder) names() []string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	var n []string
	for _, p := range pr.parts {
		n = append(n, p.name)
	}
	return n
}

// An argument ending in . or .. is named after the directory it denotes, as Kubo names it
// (`cd d1 && add -r .` adds d1/a.txt, d1/sub, d1), not "" or "..".
func TestAddNamesDotPathsAfterTheirDirectory(t *testing.T) {
	dir := t.TempDir()
	d1 := filepath.Join(dir, "d1")
	if err := os.MkdirAll(filepath.Join(d1, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d1, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(d1, "sub", "b.txt"), []byte("b"), 0o644)
	want := "d1 d1/a.txt d1/sub d1/sub/b.txt"
	for _, tt := range []struct{ cwd, arg string }{{d1, "."}, {d1, "./"}, {filepath.Join(d1, "sub"), ".."},
		{filepath.Join(d1, "sub"), "../"}, {dir, "d1/."}, {dir, "d1"}} {
		t.Run(tt.cwd+" "+tt.arg, func(t *testing.T) {
			t.Chdir(tt.cwd)
			rec := &partRecorder{}
			c, _ := newTestClient(t, rec, Config{})
			params := api.DefaultAddParams()
			params.Recursive = true
			if err := c.Add(context.Background(), []string{tt.arg}, params, nil); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rec.names(), " "); got != want {
				t.Fatalf("parts %q, want %q", got, want)
			}
		})
	}
}

func TestEntryName(t *testing.T) {
	t.Chdir(t.TempDir())
	cwd, _ := os.Getwd()
	cwd, _ = filepath.EvalSymlinks(cwd)
	for arg, want := range map[string]string{
		"f.txt": "f.txt", "a/b/": "b", ".": filepath.Base(cwd), "..": filepath.Base(filepath.Dir(cwd)),
		"https://example.com/files/report%20v2.pdf?x=1": "report v2.pdf", "http://example.com/a/": "a",
		"http://example.com": "example.com", "http://example.com:8080/": "example.com",
		"http:notaurl": "http:notaurl", "ftp://example.com/x": "x",
	} {
		if got, err := EntryName(arg); err != nil || got != want {
			t.Errorf("EntryName(%q) = %q, %v; want %q", arg, got, err, want)
		}
	}
}

// A web URL is fetched and streamed as a file part named after the URL path's last element;
// the upload starts before the download ends (nothing buffers the whole body).
func TestAddWebURL(t *testing.T) {
	firstHalfSeen := make(chan struct{})
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/files/hello.txt" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "hello ")
		w.(http.Flusher).Flush()
		select { // the rest only once the API has received the start
		case <-firstHalfSeen:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "world")
	}))
	t.Cleanup(web.Close)

	rec := &partRecorder{onPart: func(p *multipart.Part) string {
		if p.FileName() != "hello.txt" {
			return ""
		}
		buf := make([]byte, len("hello "))
		n, _ := io.ReadFull(p, buf)
		if string(buf[:n]) == "hello " {
			close(firstHalfSeen)
		}
		return string(buf[:n])
	}}
	c, _ := newTestClient(t, rec, Config{})
	local := filepath.Join(t.TempDir(), "local.txt")
	os.WriteFile(local, []byte("local"), 0o644)
	err := c.Add(context.Background(), []string{web.URL + "/files/hello.txt", local}, api.DefaultAddParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []part{{"hello.txt", "application/octet-stream", "hello world"}, {"local.txt", "application/octet-stream", "local"}}
	if len(rec.parts) != 2 || rec.parts[0] != want[0] || rec.parts[1] != want[1] {
		t.Fatalf("parts %v, want %v", rec.parts, want)
	}
}

// A URL answering non-2xx fails the add with one error naming the URL and the status.
func TestAddWebURLNotFound(t *testing.T) {
	web := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(web.Close)
	rec := &partRecorder{}
	c, _ := newTestClient(t, rec, Config{})
	u := web.URL + "/missing.bin"
	err := c.Add(context.Background(), []string{u}, api.DefaultAddParams(), nil)
	if err == nil || !strings.Contains(err.Error(), "cannot add "+u+": GET answered 404 Not Found") {
		t.Fatalf("Add: %v", err)
	}
	if n := rec.names(); len(n) != 0 {
		t.Fatalf("parts sent: %v", n)
	}
}
