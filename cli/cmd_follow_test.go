package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/peer"
)

const (
	followSecret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	followBoot   = "/ip4/127.0.0.1/tcp/9096/p2p/12D3KooWSVnASnCtdrYxKPPKX6uKNXd7t8kyEzfQR5VLHkWbPeDs"
)

func runCLIStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, IO{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return result{code, out.String(), errb.String()}
}

// TestFollowInitListInfo: a template from stdin sets up a follower in its own directory
// (follower_mode, the template's keys, the bootstrap address in its peerstore); list and info
// show it; a second init, a bad template, no secret, no bootstrap and a path as a name are
// refused with one line and exit 1, creating nothing.
func TestFollowInitListInfo(t *testing.T) {
	isolate(t)
	t.Setenv("CLUSTER_SECRET", "")
	t.Setenv("PINCLUSTER_SECRET", "")
	root := t.TempDir()
	tmpl := `{"cluster": {"secret": "` + followSecret + `"}, "consensus": {"crdt": {"cluster_name": "collab", "trusted_peers": ["12D3KooWSVnASnCtdrYxKPPKX6uKNXd7t8kyEzfQR5VLHkWbPeDs"]}}}`
	if r := runCLIStdin(t, tmpl, "follow", "--follow-dir", root, "web", "init", "-", "--bootstrap", followBoot); r.code != 0 || !strings.Contains(r.out, "follow web run") {
		t.Fatalf("follow init: %+v", r)
	}
	dir := filepath.Join(root, "web")
	cfg, err := servicejson.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Cluster.FollowerMode || cfg.Cluster.Secret != followSecret || cfg.Consensus.CRDT.ClusterName != "collab" || len(cfg.Consensus.CRDT.TrustedPeers) != 1 {
		t.Fatalf("follower config: %+v %+v", cfg.Cluster, cfg.Consensus)
	}
	if b, err := os.ReadFile(filepath.Join(dir, peer.PeerstoreFile)); err != nil || strings.TrimSpace(string(b)) != followBoot {
		t.Fatalf("peerstore: %q %v", b, err)
	}

	r := runCLI(t, "--enc", "json", "follow", "--follow-dir", root, "list")
	var fl follower
	if r.code != 0 || json.Unmarshal([]byte(r.out), &fl) != nil || fl.Name != "web" || fl.ID == "" || fl.Running {
		t.Fatalf("follow list: %+v", r)
	}
	if r := runCLI(t, "follow", "--follow-dir", root, "web", "info"); r.code != 0 || !strings.Contains(r.out, "collab") || !strings.Contains(r.out, fl.ID) || !strings.Contains(r.out, followBoot) {
		t.Fatalf("follow info: %+v", r)
	}

	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"again", tmpl, []string{"web", "init", "-", "--bootstrap", followBoot}, "already initialized"},
		{"unknown key", `{"cluster": {"secret": "` + followSecret + `", "peer_addresses": []}}`, []string{"x", "init", "-", "--bootstrap", followBoot}, `unknown key "peer_addresses"`},
		{"no secret", `{"consensus": {"crdt": {"cluster_name": "collab"}}}`, []string{"x", "init", "-", "--bootstrap", followBoot}, "needs the cluster's secret"},
		{"nothing", "", []string{"x", "init"}, "give a template"},
		{"no bootstrap", tmpl, []string{"x", "init", "-"}, "--bootstrap"},
		{"no peer id", tmpl, []string{"x", "init", "-", "--bootstrap", "/ip4/127.0.0.1/tcp/9096"}, "/p2p/"},
		{"path name", tmpl, []string{"../x", "init", "-", "--bootstrap", followBoot}, "plain name"},
		{"not set up", "", []string{"nope", "info"}, "no follower"},
		{"not set up (default info)", "", []string{"nope"}, "no follower"},
		{"list not running", "", []string{"web", "list"}, "follow web run"},
	} {
		r := runCLIStdin(t, tc.stdin, append([]string{"follow", "--follow-dir", root}, tc.args...)...)
		if r.code != ExitLocal || !strings.Contains(r.err, tc.want) || strings.Count(r.err, "\n") != 1 {
			t.Errorf("%s: %+v, want exit 1 and one line with %q", tc.name, r, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "x", "service.json")); !os.IsNotExist(err) {
		t.Fatalf("a refused init wrote a configuration: %v", err)
	}
	// --secret and no template.
	if r := runCLI(t, "follow", "--follow-dir", root, "bare", "init", "--secret", followSecret, "--bootstrap", followBoot); r.code != 0 {
		t.Fatalf("follow init --secret: %+v", r)
	}
}

// TestFollowRunWiring: follow NAME run starts the daemon on the follower's directory in
// follower mode.
func TestFollowRunWiring(t *testing.T) {
	isolate(t)
	root := t.TempDir()
	var gotDir string
	var got peer.DaemonOptions
	old := peerRunDaemon
	t.Cleanup(func() { peerRunDaemon = old })
	peerRunDaemon = func(_ context.Context, d string, o peer.DaemonOptions) error { gotDir, got = d, o; return nil }
	if r := runCLI(t, "follow", "--follow-dir", root, "web", "run"); r.code != 0 {
		t.Fatalf("follow run: %+v", r)
	}
	if gotDir != filepath.Join(root, "web") || !got.Follower {
		t.Fatalf("follow run started %s with %+v", gotDir, got)
	}
	// run --init sets the follower up first, once.
	t.Setenv("CLUSTER_SECRET", "")
	t.Setenv("PINCLUSTER_SECRET", "")
	for range 2 {
		gotDir = ""
		if r := runCLI(t, "follow", "--follow-dir", root, "fresh", "run", "--init", "-", "--secret", followSecret, "--bootstrap", followBoot); r.code != 0 {
			t.Fatalf("follow run --init: %+v", r)
		}
		if gotDir != filepath.Join(root, "fresh") || !servicejson.Exists(gotDir) {
			t.Fatalf("follow run --init started %q", gotDir)
		}
	}
}
