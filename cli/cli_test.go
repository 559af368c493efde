package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/peer"
)

func init() {
	statusDelay = 0
	waitPoll = time.Millisecond
}

type result struct {
	code     int
	out, err string
}

func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	return result{code, out.String(), errb.String()}
}

// isolate keeps tests away from the user's ~/.pincluster and environment.
func isolate(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv(config.EnvPath, dir)
	t.Setenv("CLUSTER_CREDENTIALS", "")
	t.Setenv("PINCLUSTER_TOKEN", "")
	return dir
}

func TestClientCommands(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	h := "--host=" + f.maddr()
	cases := []struct {
		name string
		args []string
		want []string // substrings of stdout, in order
	}{
		{"id", []string{"id"}, []string{peerA + " | cluster0 | Sees 1 other peers\n  > Addresses:\n    - /ip4/127.0.0.1/tcp/9096/p2p/" + peerA + "\n  > IPFS: 12D3KooWIPFS\n    - /ip4/127.0.0.1/tcp/4001\n"}},
		{"version", []string{"version"}, []string{"0.1.0\n"}},
		{"peers ls", []string{"peers", "ls"}, []string{peerA + " | cluster0", peerB + " | cluster1"}},
		{"peers rm", []string{"peers", "rm", peerB}, []string{"removed " + peerB}},
		{"pin add", []string{"pin", "add", "-n", "site", cidA}, []string{
			cidA + " | site:\n",
			"    > cluster0             : PINNED | " + fakeTime + " | Attempts: 0 | Priority: false\n",
			"    > cluster1             : PIN_ERROR | " + fakeTime + " | Attempts: 2 | Priority: false | ipfs timed out\n"}},
		{"pin add no-status", []string{"pin", "add", "--no-status", cidA}, []string{
			cidA + " |  | PIN | Repl. Factor: 2--3 | Allocations: [" + peerA + " " + peerB + "] | Recursive | Metadata: no | Exp: ∞ | Added: "}},
		{"pin add path", []string{"pin", "add", "--no-status", "/ipfs/" + cidA + "/a/b"}, []string{cidA + " |"}},
		{"pin add wait", []string{"pin", "add", "--wait", "--wait-limit", "1", cidA}, []string{"PINNED"}},
		{"pin add wait as ctl", []string{"pin", "add", "-w", "--wl", "1", "--wt", "1m", "--ns", "--rmin", "2", "--rmax", "3", "--allocs", peerA, cidA}, []string{
			cidA + " |  | PIN | Repl. Factor: 2--3"}},
		{"pin rm", []string{"pin", "rm", cidA}, []string{cidA + " | site:"}},
		{"pin rm no-status", []string{"pin", "rm", "--no-status", cidA}, []string{cidA + " |  | PIN | Repl. Factor: 2--3"}},
		{"pin update", []string{"pin", "update", "--no-status", cidB, cidA}, []string{cidA + " |"}},
		{"pin update path", []string{"pin", "update", "--ns", cidB, "/ipfs/" + cidA + "/a"}, []string{cidA + " |"}},
		{"pin ls", []string{"pin", "ls"}, []string{cidA + " |  | PIN | Repl. Factor: 2--3", cidB + " |  | PIN | Repl. Factor: -1 | Allocations: [everywhere] | Recursive"}},
		{"pin ls cid", []string{"pin", "ls", cidB}, []string{"| Direct | Metadata: yes | Exp: "}},
		{"status one", []string{"status", cidA}, []string{cidA + " | site:\n"}},
		{"status all", []string{"status", "--filter", "pin_error,pinned", "--local"}, []string{cidA + " | site:", cidB + " | site:"}},
		{"status filter no match", []string{"status", "--filter", "pinning", cidA}, nil},
		{"recover one", []string{"recover", cidA}, []string{cidA + " | site:"}},
		{"recover all", []string{"recover"}, []string{cidA + " | site:", cidB + " | site:"}},
		{"ipfs gc", []string{"ipfs", "gc"}, []string{"cluster0        | 1 blocks removed\n    - " + cidA, "cluster1        | ERROR: ipfs down"}},
		{"health graph", []string{"health", "graph"}, []string{"digraph cluster {", `[label="cluster0 (this peer)"]`, `"` + peerA + `" -> "` + peerB + `"`}},
		{"health metrics names", []string{"health", "metrics"}, []string{"freespace\npinqueue\n"}},
		{"health metrics", []string{"health", "metrics", "freespace"}, []string{peerA + " | freespace: 1.0 GiB | Expires: "}},
		{"health alerts", []string{"health", "alerts"}, []string{peerB + ": ping. Expired at: "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, append([]string{h}, tc.args...)...)
			if r.code != 0 || r.err != "" {
				t.Fatalf("exit %d, stderr %q, stdout %q", r.code, r.err, r.out)
			}
			rest := r.out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q\nstdout:\n%s", w, r.out)
				}
				rest = rest[i+len(w):]
			}
			if tc.want == nil && r.out != "" {
				t.Fatalf("want no output, got %q", r.out)
			}
		})
	}
}

func TestRequestsSent(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	h := "--host=" + f.maddr()
	if r := runCLI(t, h, "pin", "add", "--no-status", "--replication-min", "2", "--replication-max", "3", "--metadata", "k=v,w",
		"--metadata", "x=y", "--mode", "direct", "--expire-in", "1h", "--allocations", peerA+","+peerB, "-n", "nm", cidA); r.code != 0 {
		t.Fatalf("pin add: %+v", r)
	}
	q := f.find("POST", "/pins/"+cidA).URL.Query()
	for k, v := range map[string]string{"replication-min": "2", "replication-max": "3", "meta-k": "v,w", "meta-x": "y",
		"mode": "direct", "name": "nm", "user-allocations": peerA + "," + peerB} {
		if q.Get(k) != v {
			t.Errorf("query %s=%q, want %q (all: %v)", k, q.Get(k), v, q)
		}
	}
	if q.Get("expire-at") == "" {
		t.Errorf("no expire-at in %v", q)
	}
	if r := runCLI(t, h, "pin", "add", "--no-status", "-r", "2", cidB); r.code != 0 {
		t.Fatalf("pin add -r: %+v", r)
	}
	if q := f.find("POST", "/pins/"+cidB).URL.Query(); q.Get("replication-min") != "2" || q.Get("replication-max") != "2" {
		t.Errorf("-r 2 sent %v", q)
	}
	if r := runCLI(t, h, "pin", "update", "-n", "new", cidB, cidA); r.code != 0 {
		t.Fatalf("pin update: %+v", r)
	}
	if q := f.last(); q == nil {
		t.Fatal("no request")
	}
	var upd = false
	f.mu.Lock()
	for _, r := range f.requests {
		if r.Method == "POST" && r.URL.Query().Get("pin-update") == cidB && r.URL.Query().Get("name") == "new" {
			upd = true
		}
	}
	f.mu.Unlock()
	if !upd {
		t.Error("pin update did not send pin-update")
	}
	if r := runCLI(t, h, "status", "--local", "--filter", "error", cidA, cidB); r.code != 0 {
		t.Fatalf("status: %+v", r)
	}
	if q := f.find("GET", "/pins").URL.Query(); q.Get("cids") != cidA+","+cidB || q.Get("local") != "true" || q.Get("filter") != "error" {
		t.Errorf("status sent %v", q)
	}
	if r := runCLI(t, h, "pin", "add", "--no-status", "/ipfs/"+cidA+"/sub dir/f"); r.code != 0 {
		t.Fatalf("pin add path: %+v", r)
	}
	if f.find("POST", "/pins/ipfs/"+cidA+"/sub dir/f") == nil {
		t.Error("path pin not sent to /pins/ipfs/...")
	}
}

func TestBadInputs(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	h := "--host=" + f.maddr()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad cid", []string{"pin", "add", "notacid"}, `error: "notacid" is not a valid CID: `},
		{"bad cid rm", []string{"pin", "rm", "notacid"}, `error: "notacid" is not a valid CID: `},
		{"bad cid status", []string{"status", cidA, "notacid"}, `error: "notacid" is not a valid CID: `},
		{"bad cid update", []string{"pin", "update", cidA, "x"}, `error: "x" is not a valid CID: `},
		{"wait limit with from", []string{"pin", "add", "--wl", "2", "--from", "-"}, "error: --from does not take --wait-limit"},
		{"bad ipfs path", []string{"pin", "add", "/ipfs/nope/x"}, `error: bad path "/ipfs/nope/x": "nope" is not a valid CID`},
		{"min > max", []string{"pin", "add", "--replication-min", "3", "--replication-max", "2", cidA}, "error: --replication-min (3) is greater than --replication-max (2)"},
		{"min > max add", []string{"add", "--replication-min", "3", "--replication-max", "2", "x"}, "error: --replication-min (3) is greater than --replication-max (2)"},
		{"bad expire", []string{"pin", "add", "--expire-in", "soon", cidA}, `error: --expire-in "soon" is not a duration`},
		{"negative expire", []string{"pin", "add", "--expire-in=-1h", cidA}, `error: --expire-in "-1h" must be positive`},
		{"zero expire", []string{"pin", "update", "--expire-in", "0s", cidA, cidB}, `error: --expire-in "0s" must be positive`},
		{"bad mode", []string{"pin", "add", "--mode", "sideways", cidA}, `error: unknown pin mode "sideways" (use recursive or direct)`},
		{"bad filter", []string{"status", "--filter", "pinned,bogus"}, `error: unknown status filter "bogus"`},
		{"bad pin ls filter", []string{"pin", "ls", "--filter", "bogus"}, `error: unknown --filter "bogus" for pin ls`},
		{"bad metadata", []string{"pin", "add", "--metadata", "novalue", cidA}, `error: --metadata "novalue" must be KEY=VALUE`},
		{"bad metadata key", []string{"add", "--metadata", "=v", "x"}, `error: --metadata "=v" must be KEY=VALUE`},
		{"bad allocation", []string{"pin", "add", "--allocations", "bob", cidA}, `error: "bob" is not a valid peer ID`},
		{"bad peer", []string{"peers", "rm", "bob"}, `error: "bob" is not a valid peer ID`},
		{"bad layout", []string{"add", "--layout", "zigzag", "x"}, `error: unknown layout "zigzag"`},
		{"bad format", []string{"add", "--format", "zip", "x"}, `error: unknown format "zip"`},
		{"dir without -r", []string{"add", os.TempDir()}, "is a directory: use -r"},
		{"missing file", []string{"add", "/nonexistent/file"}, "error: cannot add /nonexistent/file: "},
		{"unknown flag", []string{"pin", "add", "--bogus", cidA}, "error: unknown flag --bogus"},
		{"missing arg", []string{"pin", "add"}, "error: expected \"<cid-or-path>\""},
		{"bad enc", []string{"--enc", "xml", "id"}, "error: --enc must be one of"},
		{"bad auth", []string{"--basic-auth", "nocolon", "id"}, "error: --basic-auth must be USER:PASSWORD"},
		{"bad host", []string{"--host", "/ip4/1.2.3.4", "id"}, "error: bad API multiaddr"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.count()
			r := runCLI(t, append([]string{h}, tc.args...)...)
			if r.code != ExitLocal {
				t.Fatalf("exit %d, want 1; stderr %q", r.code, r.err)
			}
			if !strings.Contains(r.err, tc.want) || strings.Count(r.err, "\n") != 1 {
				t.Fatalf("stderr %q, want one line containing %q", r.err, tc.want)
			}
			if f.count() != before {
				t.Fatalf("a request was sent for invalid input")
			}
		})
	}
}

func TestAPIErrorExit2(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	for _, args := range [][]string{{"status", cidGone}, {"pin", "add", cidGone}, {"pin", "ls", cidGone}} {
		r := runCLI(t, append([]string{"--host", f.maddr()}, args...)...)
		want := "error: pin " + cidGone + " not found (HTTP 404)\n"
		if r.code != ExitAPI || r.err != want {
			t.Errorf("%v: exit %d stderr %q; want 2 and %q", args, r.code, r.err, want)
		}
	}
	// An error in the stream trailer is an API error too, after the items already printed.
	r := runCLI(t, "--host", f.maddr(), "status", "--filter", "unpinned")
	if r.code != ExitAPI || !strings.Contains(r.err, "status stream broke") {
		t.Errorf("trailer: %+v", r)
	}
}

func TestTimeouts(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	f.pinStatus = "pinning"
	r := runCLI(t, "--host", f.maddr(), "pin", "add", "--wait", "--wait-limit", "1", "--wait-timeout", "50ms", cidA)
	if r.code != ExitTimeout || !strings.Contains(r.err, "--wait-timeout 50ms") {
		t.Fatalf("wait timeout: %+v", r)
	}
	// By default --wait waits for replication_factor_min (2) peers: one failed, so it ends.
	r = runCLI(t, "--host", f.maddr(), "pin", "add", "--wait", cidA)
	if want := "failed on 1 of its 2 allocated peers (cluster1: ipfs timed out), so it cannot reach pinned on 2"; r.code != 1 || !strings.Contains(r.err, want) {
		t.Fatalf("wait short of peers: %+v", r)
	}
	// --timeout bounds a call, it does not get in the way of one that answers (a generous
	// bound: a loaded machine may take more than 50 ms to answer even the fake).
	r = runCLI(t, "--host", f.maddr(), "--timeout", "10s", "id")
	if r.code != 0 {
		t.Fatalf("id: %+v", r)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and never answer
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	// A request that stalls past --timeout.
	port := l.Addr().(*net.TCPAddr).Port
	r = runCLI(t, "--host", "/ip4/127.0.0.1/tcp/"+itoa(port), "--timeout", "50ms", "version")
	if r.code != ExitTimeout || !strings.Contains(r.err, "timed out") {
		t.Fatalf("stalled call: %+v", r)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestConnectionRefused(t *testing.T) {
	isolate(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := "/ip4/127.0.0.1/tcp/" + itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	r := runCLI(t, "--host", addr, "id")
	want := "error: cannot reach the pincluster daemon at " + addr + ": connection refused (is `pincluster daemon` running? set --host or --config)\n"
	if r.code != ExitLocal || r.err != want {
		t.Fatalf("got %d %q\nwant %q", r.code, r.err, want)
	}
	// Fail-over to a second host.
	f := newFakeAPI(t)
	if r := runCLI(t, "--host", addr+","+f.maddr(), "version"); r.code != 0 || r.out != "0.1.0\n" {
		t.Fatalf("fail-over: %+v", r)
	}
}

func TestAPIFileIsUsedWithoutHost(t *testing.T) {
	dir := isolate(t)
	f := newFakeAPI(t)
	runningDaemon(t, dir, f)
	r := runCLI(t, "version")
	if r.code != 0 || r.out != "0.1.0\n" {
		t.Fatalf("via $PINCLUSTER_PATH: %+v", r)
	}
	other := t.TempDir()
	runningDaemon(t, other, f)
	writeAPIFile(t, other, f.maddr()) // no trailing newline
	t.Setenv(config.EnvPath, "")
	if r := runCLI(t, "--config", other, "version"); r.code != 0 {
		t.Fatalf("via --config: %+v", r)
	}
	if f.count() != 2 {
		t.Fatalf("requests %d", f.count())
	}
}

func TestBasicAuthEnv(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	t.Setenv("CLUSTER_CREDENTIALS", "alice:s3cret")
	if r := runCLI(t, "--host", f.maddr(), "id"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	u, p, ok := f.last().BasicAuth()
	if !ok || u != "alice" || p != "s3cret" {
		t.Fatalf("auth %q %q %v", u, p, ok)
	}
}

func TestJSONOutput(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	h := "--host=" + f.maddr()
	r := runCLI(t, h, "--enc", "json", "status", cidA)
	var gpi api.GlobalPinInfo
	if err := json.Unmarshal([]byte(r.out), &gpi); err != nil || len(gpi.PeerMap) != 2 {
		t.Fatalf("status json: %v %q", err, r.out)
	}
	r = runCLI(t, h, "--enc", "json", "id")
	var id api.ID
	if err := json.Unmarshal([]byte(r.out), &id); err != nil || len(id.Addresses) != 1 {
		t.Fatalf("id json: %v %q", err, r.out)
	}
	r = runCLI(t, h, "--enc", "json", "pin", "ls")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 2 {
		t.Fatalf("pin ls json: want 2 lines, got %q", r.out)
	}
	for _, l := range lines {
		var p api.Pin
		if err := json.Unmarshal([]byte(l), &p); err != nil || len(p.Allocations) != 2 {
			t.Fatalf("pin ls line %q: %v", l, err)
		}
	}
}

func TestAdd(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	h := "--host=" + f.maddr()
	dir := t.TempDir()
	root := filepath.Join(dir, "site")
	if err := os.MkdirAll(filepath.Join(root, "css"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "index.html"), []byte("<html>"), 0o644)
	os.WriteFile(filepath.Join(root, "css", "a.css"), []byte("body{}"), 0o644)

	r := runCLI(t, h, "add", "-r", root)
	want := "added " + cidB + " site/index.html\nadded " + cidB + " site/css/a.css\nadded " + cidB + " site/css\nadded " + cidA + " site\n"
	if r.code != 0 || r.out != want {
		t.Fatalf("add -r: %+v\nwant %q", r, want)
	}
	if q := f.find("POST", "/add").URL.Query(); q.Get("recursive") != "true" || q.Get("name") != "site" || q.Get("progress") != "false" {
		t.Fatalf("add query %v", q)
	}
	r = runCLI(t, h, "add", "-r", "-q", root)
	if r.code != 0 || r.out != cidB+"\n"+cidB+"\n"+cidB+"\n"+cidA+"\n" {
		t.Fatalf("add -q: %+v", r)
	}
	r = runCLI(t, h, "add", "-r", "--quieter", "--wait", root)
	if r.code != 0 || r.out != cidA+"\n" {
		t.Fatalf("add --quieter: %+v", r)
	}
	r = runCLI(t, h, "--enc", "json", "add", "--cid-version", "1", "--raw-leaves", filepath.Join(root, "index.html"))
	var out api.AddedOutput
	if err := json.Unmarshal([]byte(r.out), &out); r.code != 0 || err != nil || out.Cid.String() != cidA {
		t.Fatalf("add json: %+v %v", r, err)
	}
}

func TestServiceWiring(t *testing.T) {
	dir := isolate(t)
	var gotDir string
	var gotInit peer.InitOptions
	var gotDaemon peer.DaemonOptions
	oldInit, oldRun := peerInit, peerRunDaemon
	t.Cleanup(func() { peerInit, peerRunDaemon = oldInit, oldRun })
	peerInit = func(d string, o peer.InitOptions) error { gotDir, gotInit = d, o; return nil }
	peerRunDaemon = func(ctx context.Context, d string, o peer.DaemonOptions) error {
		gotDir, gotDaemon = d, o
		if ctx.Err() != nil {
			return errors.New("context already cancelled")
		}
		return nil
	}
	if r := runCLI(t, "init", "--peers", "/ip4/1.2.3.4/tcp/9096/p2p/"+peerA+",/ip4/5.6.7.8/tcp/9096/p2p/"+peerA, "--randomports", "-f"); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	if gotDir != dir || len(gotInit.Peers) != 2 || !gotInit.RandomPorts || !gotInit.Force || gotInit.Out == nil {
		t.Fatalf("init got %s %+v", gotDir, gotInit)
	}
	other := t.TempDir()
	if r := runCLI(t, "--config", other, "daemon", "--bootstrap", "/ip4/1.2.3.4/tcp/9096/p2p/"+peerA, "--upgrade"); r.code != 0 {
		t.Fatalf("daemon: %+v", r)
	}
	if gotDir != other || len(gotDaemon.Bootstrap) != 1 || !gotDaemon.Upgrade {
		t.Fatalf("daemon got %s %+v", gotDir, gotDaemon)
	}
	gotDir = ""
	for addr, want := range map[string]string{
		"garbage":              `error: --bootstrap "garbage" is not a multiaddress`,
		"/ip4/127.0.0.1/tcp/1": `error: --bootstrap "/ip4/127.0.0.1/tcp/1" does not name its peer`,
	} {
		if r := runCLI(t, "--config", other, "daemon", "--bootstrap", addr); r.code == 0 || !strings.HasPrefix(r.err, want) || gotDir != "" {
			t.Errorf("daemon --bootstrap %s: %+v (started: %v)", addr, r, gotDir != "")
		}
	}
	peerInit = func(string, peer.InitOptions) error { return errors.New("config exists: use -f to overwrite") }
	if r := runCLI(t, "init"); r.code != ExitLocal || r.err != "error: config exists: use -f to overwrite\n" {
		t.Fatalf("init error: %+v", r)
	}
}

// init --peers with a bad address exits non-zero with one line, and writes nothing.
func TestInitRefusesBadPeers(t *testing.T) {
	dir := filepath.Join(isolate(t), "new")
	for _, a := range []string{"garbage", "/ip4/1.2.3.4/tcp/9096"} {
		r := runCLI(t, "--config", dir, "init", "--peers", a)
		if r.code != ExitLocal || !strings.HasPrefix(r.err, `error: --peers "`+a+`"`) || strings.Count(r.err, "\n") != 1 {
			t.Errorf("init --peers %s: %+v", a, r)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("init --peers %s wrote %s", a, dir)
		}
	}
}

func TestStateCommandsNeedAnInitializedDir(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{{"state", "export"}, {"state", "import"}, {"state", "cleanup", "-f"}, {"state", "upgrade"},
		{"state", "import", "--replication-min", "1", "--replication-max", "2", "--allocations", peerA, "-"}} {
		r := runCLI(t, args...)
		if r.code != ExitLocal || !strings.Contains(r.err, "not initialized") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	// A failed export leaves an earlier file (a backup) as it was, and nothing beside it.
	dir := t.TempDir()
	backup := filepath.Join(dir, "backup.jsonl")
	if err := os.WriteFile(backup, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "state", "export", "-f", backup); r.code != ExitLocal || !strings.Contains(r.err, "not initialized") {
		t.Errorf("export -f: %+v", r)
	}
	if b, _ := os.ReadFile(backup); string(b) != "precious\n" {
		t.Errorf("a failed export changed the file to %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("a failed export left %d files", len(ents))
	}
	if r := runCLI(t, "state", "cleanup"); r.code != ExitLocal || !strings.Contains(r.err, "aborted") {
		t.Errorf("cleanup without confirmation: %+v", r)
	}
	if r := runCLI(t, "state", "import", "--replication-min", "3", "--replication-max", "1"); r.code != ExitLocal || !strings.Contains(r.err, "greater") {
		t.Errorf("import validation: %+v", r)
	}
}

func TestHelpExitsZero(t *testing.T) {
	isolate(t)
	r := runCLI(t, "pin", "add", "--help")
	if r.code != 0 || !strings.Contains(r.out, "--wait-timeout") {
		t.Fatalf("%+v", r)
	}
	_ = io.Discard
}

func TestNegativeReplication(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	r := runCLI(t, "--host", f.maddr(), "pin", "add", "--no-status", "--replication-min", "-1", "--replication-max", "-1", cidA)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if q := f.last().URL.Query(); q.Get("replication-min") != "-1" || q.Get("replication-max") != "-1" {
		t.Fatalf("sent %v", q)
	}
	if got := joinNegativeValues([]string{"--replication", "-1", "--", "--replication", "-2"}); strings.Join(got, " ") != "--replication=-1 -- --replication -2" {
		t.Fatalf("got %v", got)
	}
}
