package ipfsproxy

import (
	"net/http"
	"strings"
	"testing"
)

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
	body, ctype = multipartFiles("s1", "silent one", "s2", "silent two")
	w := e.do(http.MethodPost, "/api/v0/add?silent=true", body, ctype)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != "" {
		t.Fatalf("silent add: %d %q", w.Code, w.Body.String())
	}
	for _, d := range []string{"silent two"} {
		if _, err := e.pins.PinGet(t.Context(), cidOf(d)); err != nil {
			t.Fatalf("silent add did not pin %q: %v", d, err)
		}
	}
}
