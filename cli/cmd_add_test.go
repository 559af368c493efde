package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func (f *fakeAPI) partNames() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, p := range f.parts {
		names = append(names, strings.SplitN(p, "|", 2)[0])
	}
	return strings.Join(names, " ")
}

func (f *fakeAPI) clearParts() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parts = nil
	f.requests = nil
}

// `cd d1 && add -r .` names the entries and the pin after d1, as Kubo and ipfs-cluster-ctl do.
func TestAddDotIsTheDirectory(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	d1 := filepath.Join(t.TempDir(), "d1")
	os.MkdirAll(filepath.Join(d1, "sub"), 0o755)
	os.WriteFile(filepath.Join(d1, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(d1, "sub", "b.txt"), []byte("b"), 0o644)
	t.Chdir(d1)
	for _, args := range [][]string{{"add", "-r", "."}, {"add", "-r", "-w", "./"}} {
		f.clearParts()
		r := runCLI(t, append([]string{"--host=" + f.maddr()}, args...)...)
		if r.code != 0 || !strings.HasSuffix(r.out, " d1\n") {
			t.Fatalf("%v: %+v", args, r)
		}
		if got := f.partNames(); got != "d1 d1/a.txt d1/sub d1/sub/b.txt" {
			t.Fatalf("%v: parts %q", args, got)
		}
		if q := f.find("POST", "/add").URL.Query(); q.Get("name") != "d1" {
			t.Fatalf("%v: pin name %q", args, q.Get("name"))
		}
	}
}

// Several paths are wrapped in a directory, as ipfs-cluster-ctl does, so none is lost.
func TestAddSeveralPathsWraps(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "f1.txt"), filepath.Join(dir, "f2.txt")
	os.WriteFile(f1, []byte("1"), 0o644)
	os.WriteFile(f2, []byte("2"), 0o644)
	if r := runCLI(t, "--host="+f.maddr(), "add", f1, f2); r.code != 0 {
		t.Fatalf("add: %+v", r)
	}
	q := f.find("POST", "/add").URL.Query()
	if q.Get("wrap-with-directory") != "true" || q.Get("name") != "" || f.partNames() != "f1.txt f2.txt" {
		t.Fatalf("query %v parts %q", q, f.partNames())
	}
	f.clearParts()
	if r := runCLI(t, "--host="+f.maddr(), "add", f1); r.code != 0 || f.find("POST", "/add").URL.Query().Get("wrap-with-directory") != "false" {
		t.Fatalf("add one: %+v", r)
	}
}

// --raw-leaves unset leaves the choice to the peer (Kubo's default: raw with CIDv1); given,
// false included, it is sent.
func TestAddRawLeavesFlag(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	file := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, tt := range []struct {
		flags []string
		want  string // "" = absent
	}{{nil, ""}, {[]string{"--raw-leaves"}, "true"}, {[]string{"--raw-leaves=false"}, "false"}, {[]string{"--raw-leaves=true"}, "true"}} {
		f.clearParts()
		args := append(append([]string{"--host=" + f.maddr(), "add", "--cid-version", "1"}, tt.flags...), file)
		if r := runCLI(t, args...); r.code != 0 {
			t.Fatalf("%v: %+v", tt.flags, r)
		}
		q := f.find("POST", "/add").URL.Query()
		if _, has := q["raw-leaves"]; q.Get("raw-leaves") != tt.want || has != (tt.want != "") {
			t.Fatalf("%v: raw-leaves=%q, want %q", tt.flags, q.Get("raw-leaves"), tt.want)
		}
	}
}

func TestAddCarRefusesWrap(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	dir := t.TempDir()
	car := filepath.Join(dir, "x.car")
	os.WriteFile(car, []byte("car"), 0o644)
	for _, args := range [][]string{{"add", "--format", "car", "-w", car}, {"add", "--format", "car", car, car}} {
		r := runCLI(t, append([]string{"--host=" + f.maddr()}, args...)...)
		if r.code == 0 || !strings.Contains(r.err, "only a single CAR file can be added and wrap-with-directory is not supported") {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	if f.count() != 0 {
		t.Fatalf("%d requests sent", f.count())
	}
}

// A web URL is fetched and sent as a file named after the URL path's last element; a non-2xx
// answer is one readable error.
func TestAddWebURL(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/dl/report.pdf" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("%PDF"))
	}))
	t.Cleanup(web.Close)
	r := runCLI(t, "--host="+f.maddr(), "add", web.URL+"/dl/report.pdf")
	if r.code != 0 || r.out != "added "+cidA+" report.pdf\n" {
		t.Fatalf("add url: %+v", r)
	}
	if q := f.find("POST", "/add").URL.Query(); q.Get("name") != "report.pdf" || f.partNames() != "report.pdf" {
		t.Fatalf("query %v parts %q", q, f.partNames())
	}
	r = runCLI(t, "--host="+f.maddr(), "add", web.URL+"/nope.bin")
	if want := "error: add stopped: cannot add " + web.URL + "/nope.bin: GET answered 404 Not Found\n"; r.code == 0 || r.err != want {
		t.Fatalf("add 404: %+v\nwant %q", r, want)
	}
}
