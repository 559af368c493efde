package e2e

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"
)

// Kubo's CIDs (ipfs add --only-hash) for the inputs below.
const (
	kuboD1        = "QmU6gJLzou116aQFoUzRmvEkdnoDgECia5C5vAM2ac1nRM"              // d1/{a.txt: "a\n", sub/b.txt: "b\n"}
	kuboD1Wrapped = "QmPEyhLEfvWihDXsWkJF4Ld7UE13zG2TcxbbqgbqxYMomG"              // the same, -w
	kuboF1F2      = "QmWGqjkBno6dWdDHq7dJXSb6yrMPbAbpkdDaJBc8WSZFTK"              // -w f1.txt ("1") f2.txt ("2")
	kuboHelloV1   = "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby" // "hello world\n", --cid-version 1 --raw-leaves=false
)

// postAdd sends POST /add with one part per name, each holding content, and returns the code
// and body.
func postAdd(t *testing.T, base, query, content string, names ...string) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, n := range names {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, n))
		h.Set("Content-Type", "application/octet-stream")
		w, _ := mw.CreatePart(h)
		io.WriteString(w, content)
	}
	mw.Close()
	resp, err := http.Post(base+"/add?"+query, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAddArguments: how `add` names and wraps its arguments and honours raw-leaves=false, on
// the CLI and over REST, against Kubo's CIDs.
func TestAddArguments(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	work := t.TempDir()
	dir := filepath.Join(work, "p1")
	initDir(t, dir)
	d := startDaemon(t, dir, nil)
	api := restURL(t, dir)
	pins := func() int { return strings.Count(d.mustCLI("pin", "ls"), "\n") }

	// `cd d1 && add -r .` is d1, named so, as Kubo adds it; with -w the wrapper links "d1".
	d1 := filepath.Join(work, "d1")
	writeFile(t, filepath.Join(d1, "a.txt"), "a\n")
	writeFile(t, filepath.Join(d1, "sub", "b.txt"), "b\n")
	t.Chdir(d1)
	out := d.mustCLI("add", "-r", ".")
	if want := "added " + kuboD1 + " d1\n"; !strings.HasSuffix(out, want) || !strings.Contains(out, " d1/sub/b.txt\n") {
		t.Fatalf("add -r .: %q, want it to end with %q", out, want)
	}
	if ls := d.mustCLI("pin", "ls", kuboD1); !strings.Contains(ls, "| d1 |") {
		t.Fatalf("pin ls: %q", ls)
	}
	if root := lastLine(d.mustCLI("add", "-r", "-w", "-Q", "./")); root != kuboD1Wrapped {
		t.Fatalf("add -r -w ./: %s, want %s", root, kuboD1Wrapped)
	}

	// Two entries of one name in a wrapper: refused, nothing pinned (CLI and REST).
	before := pins()
	da, db := writeFile(t, filepath.Join(work, "da", "hello"), "1"), writeFile(t, filepath.Join(work, "db", "hello"), "2")
	if r := d.cli("add", "-w", da, db); r.code == 0 || !strings.Contains(r.stderr, "directory already has entry by that name") {
		t.Fatalf("add -w da/hello db/hello: %s", r)
	}
	if code, body := postAdd(t, api, "wrap-with-directory=true", "x", "hello", "hello"); code != http.StatusBadRequest ||
		!strings.Contains(body, "directory already has entry by that name") {
		t.Fatalf("REST duplicate: %d %s", code, body)
	}
	// A part without a name cannot be an entry of the wrapper.
	if code, body := postAdd(t, api, "wrap-with-directory=true", "x", ""); code != http.StatusBadRequest || !strings.Contains(body, "has no name") {
		t.Fatalf("REST empty filename: %d %s", code, body)
	}
	if n := pins(); n != before {
		t.Fatalf("pins %d, want %d", n, before)
	}

	// Several paths are wrapped (none is lost).
	f1, f2 := writeFile(t, filepath.Join(work, "f1.txt"), "1"), writeFile(t, filepath.Join(work, "f2.txt"), "2")
	out = d.mustCLI("add", f1, f2)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasSuffix(lines[0], " f1.txt") || !strings.HasSuffix(lines[1], " f2.txt") {
		t.Fatalf("add f1 f2: %q", out)
	}
	if root := cidRe.FindString(lastLine(out)); root != kuboF1F2 {
		t.Fatalf("add f1 f2: root %s, want %s", root, kuboF1F2)
	}

	// raw-leaves=false with CIDv1 gives Kubo's dag-pb leaf, on the CLI and over REST.
	hello := writeFile(t, filepath.Join(work, "hello.txt"), "hello world\n")
	if got := lastLine(d.mustCLI("add", "-Q", "--cid-version", "1", "--raw-leaves=false", hello)); got != kuboHelloV1 {
		t.Fatalf("CLI: %s, want %s", got, kuboHelloV1)
	}
	if code, body := postAdd(t, api, "cid-version=1&raw-leaves=false", "hello world\n", "hello"); code != http.StatusOK ||
		!strings.Contains(body, kuboHelloV1) {
		t.Fatalf("REST raw-leaves=false: %d %s", code, body)
	}
}
