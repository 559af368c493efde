package ipfsproxy

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/boxo/files"

	"github.com/pincluster/pincluster/api"
)

// kuboAddBody is the body Kubo's CLI sends for `ipfs add -r f1 d f2`: boxo's multipart
// encoding of the named files, a directory as its own part followed by its entries.
func kuboAddBody(entries ...files.DirEntry) (*bytes.Buffer, string) {
	mfr := files.NewMultiFileReader(files.NewSliceDirectory(entries), true, false)
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(mfr); err != nil {
		panic(err)
	}
	return &buf, "multipart/form-data; boundary=" + mfr.Boundary()
}

func fileEntry(name, data string) files.DirEntry {
	return files.FileEntry(name, files.NewBytesFile([]byte(data)))
}

func dirEntry(name string, entries ...files.DirEntry) files.DirEntry {
	return files.FileEntry(name, files.NewSliceDirectory(entries))
}

// treeBody is f1, a directory d (d/x, d/sub/y) and f2.
func treeBody() (*bytes.Buffer, string) {
	return kuboAddBody(fileEntry("f1", "one"),
		dirEntry("d", fileEntry("x", "ex"), dirEntry("sub", fileEntry("y", "why"))),
		fileEntry("f2", "two"))
}

func hashes(ls []map[string]any) []string {
	var out []string
	for _, l := range ls {
		if h, ok := l["Hash"].(string); ok {
			out = append(out, l["Name"].(string)+"="+h)
		}
	}
	return out
}

// TestAddPinsEveryTopLevelEntry: `ipfs add f1 d f2` without -w adds and pins each of f1, d and
// f2, as Kubo does (it pinned only the last root, f2), with Kubo's lines: one per file and
// directory; with -w, one add and one pin, the wrapping directory.
func TestAddPinsEveryTopLevelEntry(t *testing.T) {
	e := newEnv(t)
	body, ctype := treeBody()
	w := e.do(http.MethodPost, "/api/v0/add?recursive=true&pin-name=tree", body, ctype)
	if w.Code != 200 || w.Result().Trailer.Get("X-Stream-Error") != "" {
		t.Fatalf("add: %d %s %v", w.Code, w.Body.String(), w.Result().Trailer)
	}
	dirSub := cidOf("dir:y " + cidOf("why").String() + "\n")
	dirD := cidOf("dir:x " + cidOf("ex").String() + "\nsub " + dirSub.String() + "\n")
	want := []string{"f1=" + cidOf("one").String(), "d/x=" + cidOf("ex").String(), "d/sub/y=" + cidOf("why").String(),
		"d/sub=" + dirSub.String(), "d=" + dirD.String(), "f2=" + cidOf("two").String()}
	if got := hashes(lines(t, w)); !slices.Equal(got, want) {
		t.Fatalf("lines\n got %v\nwant %v", got, want)
	}
	if got, want := e.adder.imported(), [][]string{{"f1"}, {"d", "d/x", "d/sub", "d/sub/y"}, {"f2"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("one add per top-level entry, its whole tree in it: got %v, want %v", got, want)
	}
	for _, c := range []api.Cid{cidOf("one"), dirD, cidOf("two")} {
		p, err := e.pins.PinGet(t.Context(), c)
		if err != nil {
			t.Fatalf("top-level entry %s not pinned: %v", c, err)
		}
		if p.Name != "tree" {
			t.Fatalf("pin %s named %q, want the pin-name", c, p.Name)
		}
	}
	if n := len(e.pins.changes()); n != 3 {
		t.Fatalf("%d pins, want 3 (the top-level entries, not what is below them): %v", n, e.pins.changes())
	}

	// -w: a single add that pins the wrapping directory alone.
	e = newEnv(t)
	body, ctype = treeBody()
	w = e.do(http.MethodPost, "/api/v0/add?w=true", body, ctype)
	ls := lines(t, w)
	if w.Code != 200 || len(ls) != 7 || ls[6]["Name"] != "" {
		t.Fatalf("add -w: %d %v", w.Code, ls)
	}
	if n := len(e.adder.imported()); n != 1 {
		t.Fatalf("add -w made %d adds, want 1", n)
	}
	if ch := e.pins.changes(); len(ch) != 1 || ch[0] != "pin "+ls[6]["Hash"].(string) {
		t.Fatalf("add -w pinned %v, want the wrapping directory alone", ch)
	}
}

// TestAddEntryFailsAfterOthers: a body that breaks off in the second entry leaves the first one
// added and pinned, which the answer says: a 200 with its line, the error in the trailer; the
// failed entry shows nothing as added, not even the file of it that was read whole.
func TestAddEntryFailsAfterOthers(t *testing.T) {
	e := newEnv(t)
	body, ctype := kuboAddBody(fileEntry("f1", "one"),
		dirEntry("d", fileEntry("x", "ex"), fileEntry("y", strings.Repeat("y", 1000))))
	cut := bytes.LastIndex(body.Bytes(), []byte("yyyy"))
	body.Truncate(cut)
	w := e.do(http.MethodPost, "/api/v0/add", body, ctype)
	if w.Code != 200 {
		t.Fatalf("status %d after the first entry was pinned, want 200: %s", w.Code, w.Body.String())
	}
	if got, want := hashes(lines(t, w)), []string{"f1=" + cidOf("one").String()}; !slices.Equal(got, want) {
		t.Fatalf("lines %v, want %v", got, want)
	}
	if msg := w.Result().Trailer.Get("X-Stream-Error"); !strings.Contains(msg, "multipart") {
		t.Fatalf("trailer error %q, want the body's fault", msg)
	}
	if ch := e.pins.changes(); !slices.Equal(ch, []string{"pin " + cidOf("one").String()}) {
		t.Fatalf("pins %v, want f1 alone", ch)
	}

	// A body without any file is a 400, as before.
	body, ctype = kuboAddBody()
	if w := e.do(http.MethodPost, "/api/v0/add", body, ctype); w.Code != 400 || !strings.Contains(kuboErr(t, w).Message, "nothing to add") {
		t.Fatalf("empty add: %d %s", w.Code, w.Body.String())
	}
}

// TestAddGoesOnPastAnUnconfirmedEntry: an entry pinned whose wait for its replicas failed is
// added all the same: the next entries are added and pinned, and the error is in the trailer
// (review: the add stopped after it).
func TestAddGoesOnPastAnUnconfirmedEntry(t *testing.T) {
	e := newEnv(t)
	e.adder.unconfirmed = cidOf("one")
	body, ctype := kuboAddBody(fileEntry("f1", "one"), fileEntry("f2", "two"), fileEntry("f3", "three"))
	w := e.do(http.MethodPost, "/api/v0/add", body, ctype)
	if w.Code != 200 {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body.String())
	}
	if got := hashes(lines(t, w)); len(got) != 3 {
		t.Fatalf("lines %v, want the three files", got)
	}
	for _, c := range []api.Cid{cidOf("one"), cidOf("two"), cidOf("three")} {
		if _, err := e.pins.PinGet(t.Context(), c); err != nil {
			t.Fatalf("%s not pinned: %v", c, err)
		}
	}
	if msg := w.Result().Trailer.Get("X-Stream-Error"); !strings.Contains(msg, "replicas") {
		t.Fatalf("trailer error %q, want the unconfirmed entry's", msg)
	}
}

// TestAddOptions: every Kubo add option the cluster does not implement is a 400 naming it, and
// nothing is imported; what Kubo's CLI sends by default, its own options and the implemented
// ones are accepted.
func TestAddOptions(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ query, option string }{
		{"max-file-links=10", "max-file-links"},
		{"max-directory-links=10", "max-directory-links"},
		{"max-hamt-fanout=256", "max-hamt-fanout"},
		{"mode=0644", "mode"},
		{"mtime=1700000000", "mtime"},
		{"mtime-nsecs=5", "mtime-nsecs"},
		{"to-files=/x", "to-files"},
		{"only-hash=true", "only-hash"},
		{"n=1", "only-hash"},
		{"nocopy", "nocopy"},
		{"fscache=true", "fscache"},
		{"inline=true", "inline"},
		{"preserve-mode=true", "preserve-mode"},
		{"preserve-mtime=true", "preserve-mtime"},
		{"fast-provide-root=true", "fast-provide-root"},
		{"fast-provide-dag=true", "fast-provide-dag"},
		{"fast-provide-wait=true", "fast-provide-wait"},
		{"empty-dirs=false", "empty-dirs"},
		{"only-hash=maybe", "only-hash"},
	} {
		body, ctype := multipartFiles("a.txt", "aaa")
		w := e.do(http.MethodPost, "/api/v0/add?"+tc.query, body, ctype)
		if w.Code != 400 {
			t.Fatalf("%s: status %d, want 400: %s", tc.query, w.Code, w.Body.String())
		}
		if ke := kuboErr(t, w); ke.Code != codeClient || !strings.Contains(ke.Message, tc.option) {
			t.Fatalf("%s: error %+v does not name %q", tc.query, ke, tc.option)
		}
	}
	if n := len(e.adder.imported()); n != 0 || len(e.pins.changes()) != 0 {
		t.Fatalf("refused adds imported %d times, pinned %v", n, e.pins.changes())
	}

	// What `ipfs add -r -q --progress=false f` sends (go-ipfs-cmds fills the defaults in).
	kuboCLI := "recursive=true&quiet=true&progress=false&pin=true&inline-limit=32&empty-dirs=true&stream-channels=true&encoding=json" +
		"&only-hash=false&nocopy=false&inline=false&fast-provide-root=false&dereference-args=false&dereference-symlinks=false&hidden=false&quieter=false"
	body, ctype := multipartFiles("a.txt", "aaa")
	if w := e.do(http.MethodPost, "/api/v0/add?"+kuboCLI, body, ctype); w.Code != 200 || len(lines(t, w)) != 1 {
		t.Fatalf("Kubo CLI's defaults: %d %s", w.Code, w.Body.String())
	}
	if _, err := e.pins.PinGet(t.Context(), cidOf("aaa")); err != nil {
		t.Fatal(err)
	}

	// silent: no line for what is added, which is pinned all the same.
	body, ctype = kuboAddBody(fileEntry("s1", "silent one"), fileEntry("s2", "silent two"))
	w := e.do(http.MethodPost, "/api/v0/add?silent=true", body, ctype)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != "" {
		t.Fatalf("silent add: %d %q", w.Code, w.Body.String())
	}
	for _, d := range []string{"silent one", "silent two"} {
		if _, err := e.pins.PinGet(t.Context(), cidOf(d)); err != nil {
			t.Fatalf("silent add did not pin %q: %v", d, err)
		}
	}
}
