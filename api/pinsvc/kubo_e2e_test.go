package pinsvc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/peer"
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

// token asks the REST API for a bearer token with perms (nil: the user's own).
func token(t *testing.T, restAddr, user, pass string, perms []string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"permissions": perms})
	req, err := http.NewRequest("POST", "http://"+restHostPort(t, restAddr)+"/token", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.Token == "" {
		t.Fatalf("POST /token: %d %v", resp.StatusCode, err)
	}
	return tr.Token
}

// restHostPort turns /ip4/127.0.0.1/tcp/N into 127.0.0.1:N.
func restHostPort(t *testing.T, maddr string) string {
	p := strings.Split(maddr, "/")
	if len(p) < 5 {
		t.Fatalf("address %q", maddr)
	}
	return p[2] + ":" + p[4]
}

// TestKuboPinRemote drives the pinning service API of a real single-peer daemon with Kubo's own
// client: pin remote service add, pin remote add --name, ls with --name/--status/--cid, rm;
// and the REST API's tokens (a read-only token cannot add, a wrong one cannot list).
func TestKuboPinRemote(t *testing.T) {
	bin := kuboBin(t)
	if bin == "" {
		t.Skip("SKIPPED: Kubo's CLI not found: run `make kubo` (tools/kubo/bin/ipfs) or set PINCLUSTER_KUBO_BIN; the pinning service API is NOT tested against Kubo's client")
	}
	dir := t.TempDir()
	cfg := servicejson.Default()
	cfg.Cluster.ListenMultiaddress = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.API.RestAPI.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.API.RestAPI.BasicAuthCredentials = map[string]string{"alice": "secret"}
	cfg.API.IPFSProxy.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.API.PinSvcAPI.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.Cluster.ReplicationFactorMin, cfg.Cluster.ReplicationFactorMax = -1, -1
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	p, err := peer.New(context.Background(), dir, cfg, ident, peer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	endpoint := p.PinSvcURL()
	if endpoint == "" {
		t.Fatal("no pinning service API")
	}
	tok := token(t, p.RESTAddr(), "alice", "secret", nil)
	readTok := token(t, p.RESTAddr(), "alice", "secret", []string{"read"})

	clientRepo := t.TempDir()
	ipfs := func(args ...string) (string, string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "IPFS_PATH="+clientRepo)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := ipfs(args...)
		if err != nil {
			t.Fatalf("ipfs %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}
	must("init", "--profile", "test")
	must("pin", "remote", "service", "add", "pc", endpoint, tok)
	must("pin", "remote", "service", "add", "ro", endpoint, readTok)
	must("pin", "remote", "service", "add", "bad", endpoint, "not-a-token")

	// Content the cluster's node has: added through the IPFS proxy without pinning.
	addFile := func(content string) string {
		f := filepath.Join(t.TempDir(), "f.txt")
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(must("--api", p.IPFSProxyAddr(), "add", "-q", "--pin=false", f))
	}
	a, b := addFile("pinning service: first\n"), addFile("pinning service: second\n")
	pinned := func(c string) bool {
		_, err := p.PinGet(context.Background(), mustCid(t, c))
		return err == nil
	}

	for _, tc := range [][2]string{{"first", a}, {"second", b}, {"again", a}} {
		out := must("pin", "remote", "add", "--service=pc", "--name="+tc[0], tc[1])
		if !strings.Contains(out, tc[1]) || !strings.Contains(out, "pinned") || !strings.Contains(out, tc[0]) {
			t.Fatalf("pin remote add %s printed %q", tc[0], out)
		}
	}
	if !pinned(a) || !pinned(b) {
		t.Fatal("the CIDs are not in the cluster's pinset")
	}
	lines := func(out string) []string {
		var l []string
		for _, s := range strings.Split(strings.TrimSpace(out), "\n") {
			if s != "" {
				l = append(l, s)
			}
		}
		return l
	}
	if l := lines(must("pin", "remote", "ls", "--service=pc")); len(l) != 3 {
		t.Fatalf("ls: %q", l)
	}
	// The answer itself: delegates are the IPFS node's p2p addresses.
	req, _ := http.NewRequest("GET", endpoint+"/pins?cid="+b, nil)
	req.Header.Set("Authorization", "Bearer "+readTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Count   int `json:"count"`
		Results []struct {
			Delegates []string          `json:"delegates"`
			Info      map[string]string `json:"info"`
		} `json:"results"`
	}
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || res.Count != 1 || len(res.Results) != 1 || len(res.Results[0].Delegates) == 0 || !strings.Contains(res.Results[0].Delegates[0], "/p2p/") {
		t.Fatalf("GET /pins?cid=: %v %+v", err, res)
	}
	if l := lines(must("pin", "remote", "ls", "--service=pc", "--name=first")); len(l) != 1 || !strings.Contains(l[0], a) || !strings.Contains(l[0], "pinned") {
		t.Fatalf("ls --name=first: %q", l)
	}
	if l := lines(must("pin", "remote", "ls", "--service=pc", "--cid="+b)); len(l) != 1 || !strings.Contains(l[0], "second") {
		t.Fatalf("ls --cid: %q", l)
	}
	if l := lines(must("pin", "remote", "ls", "--service=pc", "--cid="+a, "--status=pinned")); len(l) != 2 {
		t.Fatalf("ls --cid --status=pinned: %q", l)
	}
	if l := lines(must("pin", "remote", "ls", "--service=pc", "--status=queued,pinning,failed")); len(l) != 0 {
		t.Fatalf("ls --status=queued,pinning,failed: %q", l)
	}
	if l := lines(must("pin", "remote", "ls", "--service=ro", "--status=pinned,queued")); len(l) != 3 {
		t.Fatalf("ls with a read token: %q", l)
	}

	// Tokens: read-only cannot add, a bad one cannot list.
	if out, errOut, err := ipfs("pin", "remote", "add", "--service=ro", "--name=x", b); err == nil || !strings.Contains(out+errOut, "403") {
		t.Fatalf("add with a read-only token: %v %s %s", err, out, errOut)
	}
	if out, errOut, err := ipfs("pin", "remote", "ls", "--service=bad"); err == nil || !strings.Contains(out+errOut, "401") {
		t.Fatalf("ls with a bad token: %v %s %s", err, out, errOut)
	}

	// rm: the CID stays pinned while a request holds it.
	must("pin", "remote", "rm", "--service=pc", "--name=first")
	if !pinned(a) {
		t.Fatal("removing one of two requests unpinned the CID")
	}
	if l := lines(must("pin", "remote", "ls", "--service=pc", "--cid="+a)); len(l) != 1 || !strings.Contains(l[0], "again") {
		t.Fatalf("ls after rm: %q", l)
	}
	must("pin", "remote", "rm", "--service=pc", "--cid="+a)
	if pinned(a) {
		t.Fatal("the CID stayed pinned after its last request was removed")
	}
	must("pin", "remote", "rm", "--service=pc", "--cid="+b, "--force")
	if pinned(b) {
		t.Fatal("second CID still pinned")
	}
	if l := lines(must("pin", "remote", "ls", "--service=pc", "--status=queued,pinning,pinned,failed")); len(l) != 0 {
		t.Fatalf("ls after removing everything: %q", l)
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
