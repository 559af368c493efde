package ipfsproxy_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	car "github.com/ipld/go-car/v2"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/cartest"
)

// kuboBin is Kubo's CLI: $PINCLUSTER_KUBO_BIN (make test-kubo sets it) or tools/kubo/bin/ipfs
// (make kubo builds it); "" when neither exists.
func kuboBin(t *testing.T) string {
	if b := os.Getenv("PINCLUSTER_KUBO_BIN"); b != "" {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("PINCLUSTER_KUBO_BIN=%s: %v", b, err)
		}
		return b
	}
	b, _ := filepath.Abs(filepath.Join("..", "..", "tools", "kubo", "bin", "ipfs"))
	if _, err := os.Stat(b); err == nil {
		return b
	}
	return ""
}

// TestKuboCLIAgainstProxy runs Kubo's own CLI against the proxy of a real single-peer daemon
// with the embedded backend: add, pin add, pin ls, cat, pin rm, and a few node endpoints. The
// client has no repo of its own (IPFS_PATH is an empty temp dir): with --api it needs none.
func TestKuboCLIAgainstProxy(t *testing.T) {
	bin := kuboBin(t)
	if bin == "" {
		t.Skip("SKIPPED: Kubo's CLI not found: run `make kubo` (tools/kubo/bin/ipfs) or set PINCLUSTER_KUBO_BIN; the IPFS proxy is NOT tested against Kubo's client")
	}
	p := loopbackPeer(t, func(cfg *servicejson.Config) {
		cfg.Cluster.ReplicationFactorMin, cfg.Cluster.ReplicationFactorMax = -1, -1
	})
	api := p.IPFSProxyAddr()
	if api == "" {
		t.Fatal("no IPFS proxy address")
	}
	clientRepo := t.TempDir()

	ipfs := func(stdin string, args ...string) (string, string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--api", api}, args...)...)
		cmd.Env = append(os.Environ(), "IPFS_PATH="+clientRepo)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := ipfs("", args...)
		if err != nil {
			t.Fatalf("ipfs %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}

	content := "hello from Kubo's CLI through pincluster's proxy\n"
	file := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// add: Kubo's "added <cid> <name>", pinned in the cluster.
	out := must("add", file)
	f := strings.Fields(out)
	if len(f) < 3 || f[0] != "added" || f[2] != "hello.txt" {
		t.Fatalf("ipfs add printed %q", out)
	}
	added := f[1]
	if _, err := p.PinGet(context.Background(), mustCid(t, added)); err != nil {
		t.Fatalf("added %s is not in the cluster's pinset: %v", added, err)
	}
	if got := must("cat", added); got != content {
		t.Fatalf("ipfs cat = %q, want %q", got, content)
	}

	// add --pin=false stores without pinning; pin add then pins it in the cluster.
	file2 := filepath.Join(t.TempDir(), "two.txt")
	if err := os.WriteFile(file2, []byte("second file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := strings.TrimSpace(must("add", "-q", "--pin=false", file2))
	if _, err := p.PinGet(context.Background(), mustCid(t, second)); err == nil {
		t.Fatalf("add --pin=false pinned %s in the cluster", second)
	}
	if out := must("pin", "add", second); strings.TrimSpace(out) != "pinned "+second+" recursively" {
		t.Fatalf("ipfs pin add printed %q", out)
	}
	ls := must("pin", "ls")
	for _, c := range []string{added, second} {
		if !strings.Contains(ls, c+" recursive") {
			t.Fatalf("ipfs pin ls lacks %s: %q", c, ls)
		}
	}
	if out := must("pin", "ls", "--stream", "--type=recursive"); !strings.Contains(out, second+" recursive") {
		t.Fatalf("ipfs pin ls --stream printed %q", out)
	}
	if out := must("pin", "rm", second); strings.TrimSpace(out) != "unpinned "+second {
		t.Fatalf("ipfs pin rm printed %q", out)
	}
	if _, errOut, err := ipfs("", "pin", "ls", second); err == nil || !strings.Contains(errOut, "is not pinned") {
		t.Fatalf("ipfs pin ls of an unpinned CID: err %v, stderr %q", err, errOut)
	}
	// Several files without -w: each added and pinned, as Kubo does; an option the cluster
	// does not implement is refused with its name, nothing added.
	f3, f4 := filepath.Join(t.TempDir(), "three.txt"), filepath.Join(t.TempDir(), "four.txt")
	os.WriteFile(f3, []byte("third file\n"), 0o600)
	os.WriteFile(f4, []byte("fourth file\n"), 0o600)
	both := strings.Fields(must("add", "-q", f3, f4))
	if len(both) != 2 {
		t.Fatalf("ipfs add -q of two files printed %q", both)
	}
	for _, c := range both {
		if _, err := p.PinGet(context.Background(), mustCid(t, c)); err != nil {
			t.Fatalf("ipfs add f3 f4: %s is not pinned in the cluster: %v", c, err)
		}
	}
	if _, errOut, err := ipfs("", "add", "--max-file-links=10", f3); err == nil || !strings.Contains(errOut, "max-file-links") {
		t.Fatalf("ipfs add --max-file-links: err %v, stderr %q", err, errOut)
	}
	// The embedded node's endpoints, and a clear 501 for the others.
	if out := must("id", "-f", "<id>"); strings.TrimSpace(out) == "" {
		t.Fatalf("ipfs id printed nothing")
	}
	// (ipfs version prints the client's own version: the endpoint is covered by the handler tests.)
	if out := must("block", "get", added); !strings.Contains(out, strings.TrimSpace(content)) {
		t.Fatalf("ipfs block get printed %q", out)
	}
	if out := must("dag", "export", added); len(out) == 0 {
		t.Fatal("ipfs dag export wrote nothing")
	}
	if out := must("repo", "stat"); !strings.Contains(out, "NumObjects") {
		t.Fatalf("ipfs repo stat printed %q", out)
	}
	if _, errOut, err := ipfs("", "swarm", "peers"); err == nil || !strings.Contains(errOut, "not implemented") {
		t.Fatalf("ipfs swarm peers: err %v, stderr %q (want a 501 'not implemented')", err, errOut)
	}
	// stdin: `echo data | ipfs add -q`, and `echo CID | ipfs pin add` (the arguments in the body).
	fromStdin, errOut, err := ipfs("data from stdin\n", "add", "-q", "--pin=false")
	fromStdin = strings.TrimSpace(fromStdin)
	if err != nil || fromStdin == "" {
		t.Fatalf("echo | ipfs add: %v %q %q", err, fromStdin, errOut)
	}
	if out, errOut, err := ipfs(fromStdin+"\n", "pin", "add"); err != nil || !strings.Contains(out, "pinned "+fromStdin) {
		t.Fatalf("echo CID | ipfs pin add: %v %q %q", err, out, errOut)
	}
	if _, err := p.PinGet(context.Background(), mustCid(t, fromStdin)); err != nil {
		t.Fatalf("the CID from stdin is not pinned: %v", err)
	}

	// pin add --progress (a stream) and pin update.
	if out := must("pin", "add", "--progress", second); !strings.Contains(out, "pinned "+second) {
		t.Fatalf("ipfs pin add --progress printed %q", out)
	}
	if out := must("pin", "update", second, fromStdin); strings.TrimSpace(out) == "" {
		t.Fatal("ipfs pin update printed nothing")
	}
	if _, err := p.PinGet(context.Background(), mustCid(t, second)); err == nil {
		t.Fatal("pin update left the old pin")
	}

	// A directory (Kubo's client sends the tree as multipart parts).
	tree := t.TempDir()
	os.MkdirAll(filepath.Join(tree, "site", "css"), 0o700)
	os.WriteFile(filepath.Join(tree, "site", "index.html"), []byte("<h1>hi</h1>"), 0o600)
	os.WriteFile(filepath.Join(tree, "site", "css", "a.css"), []byte("h1{}"), 0o600)
	out = must("add", "-r", filepath.Join(tree, "site"))
	var dirCid string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[2] == "site" {
			dirCid = f[1]
		}
	}
	if dirCid == "" || !strings.Contains(out, "site/css/a.css") {
		t.Fatalf("ipfs add -r printed %q", out)
	}
	if got := must("cat", "/ipfs/"+dirCid+"/css/a.css"); got != "h1{}" {
		t.Fatalf("cat of a path in the directory: %q", got)
	}
	if _, err := p.PinGet(context.Background(), mustCid(t, dirCid)); err != nil {
		t.Fatalf("the added directory is not pinned in the cluster: %v", err)
	}

	// dag export then, once unpinned, dag import pins the root again; repo gc runs.
	carFile := filepath.Join(t.TempDir(), "site.car")
	if _, errOut, err := ipfs("", "dag", "export", "-o", carFile, dirCid); err != nil {
		// Older clients have no -o: write stdout.
		out := must("dag", "export", dirCid)
		if werr := os.WriteFile(carFile, []byte(out), 0o600); werr != nil {
			t.Fatal(werr, errOut)
		}
	}
	must("pin", "rm", dirCid)
	must("repo", "gc")
	if out := must("dag", "import", carFile); !strings.Contains(out, dirCid) {
		t.Fatalf("ipfs dag import printed %q", out)
	}
	if _, err := p.PinGet(context.Background(), mustCid(t, dirCid)); err != nil {
		t.Fatalf("dag import did not pin the root in the cluster: %v", err)
	}

	// A CAR of two roots, one of which no CAR carries (as Kubo allows): the carried one is pinned,
	// the other reported by Kubo's CLI as a failed pin.
	must("pin", "rm", dirCid)
	multi := filepath.Join(t.TempDir(), "multi.car")
	absentHash, _ := mh.Sum([]byte("a root no CAR carries"), mh.SHA2_256, -1)
	absent := mustCid(t, cid.NewCidV1(cid.Raw, absentHash).String())
	if err := os.WriteFile(multi, cartest.V1([]cid.Cid{mustCid(t, dirCid).Cid, absent.Cid}, carBlocks(t, carFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := ipfs("", "dag", "import", multi); err == nil || !strings.Contains(out, dirCid) || !strings.Contains(errOut, absent.String()) || !strings.Contains(errOut, "FAILED") {
		t.Fatalf("ipfs dag import of two roots, one absent: err %v, stdout %q, stderr %q", err, out, errOut)
	}
	if _, err := p.PinGet(context.Background(), mustCid(t, dirCid)); err != nil {
		t.Fatalf("dag import of two roots did not pin the carried one: %v", err)
	}
	if _, err := p.PinGet(context.Background(), absent); err == nil {
		t.Fatal("dag import pinned a root no CAR carried")
	}

	// A bad argument is a client error and changes nothing.
	if _, errOut, err := ipfs("", "pin", "add", "not-a-cid"); err == nil || !strings.Contains(errOut, "not a CID") {
		t.Fatalf("ipfs pin add not-a-cid: err %v, stderr %q", err, errOut)
	}
}

// carBlocks reads every block of a CAR file.
func carBlocks(t *testing.T, path string) []blocks.Block {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br, err := car.NewBlockReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var bs []blocks.Block
	for {
		b, err := br.Next()
		if err == io.EOF {
			return bs
		}
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
}
