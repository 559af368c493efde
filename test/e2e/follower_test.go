package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/internal/syncbuf"
)

// startFollower runs `pincluster follow NAME run` and waits until the follower's REST API
// answers id.
func startFollower(t *testing.T, followDir, name string, env []string) *daemon {
	t.Helper()
	cmd := exec.Command(binPath, "follow", "--follow-dir", followDir, name, "run")
	cmd.Env = append(os.Environ(), env...)
	log := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	d := &daemon{t: t, dir: filepath.Join(followDir, name), cmd: cmd, log: log, done: done}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("follower %s log:\n%s", name, log.String())
		}
	})
	up := poll.Until(60*time.Second, 200*time.Millisecond, func() bool {
		select {
		case <-done:
			return true
		default:
		}
		return d.cli("id").code == 0
	})
	select {
	case <-done:
		t.Fatalf("follower exited early: %s", log.String())
	default:
	}
	if !up {
		t.Fatalf("follower %s did not answer id within 60s: %s", name, log.String())
	}
	return d
}

// peerID reads a peer's ID from its identity file.
func peerID(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var id struct{ ID string }
	if err := json.Unmarshal(b, &id); err != nil || id.ID == "" {
		t.Fatalf("identity.json of %s: %v", dir, err)
	}
	return id.ID
}

// restURL is the http base URL of a daemon's REST API (from its api file).
func restURL(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "api"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.TrimSpace(string(b)), "/")
	if len(parts) < 5 {
		t.Fatalf("api file of %s: %q", dir, b)
	}
	return fmt.Sprintf("http://%s:%s", parts[2], parts[4])
}

// TestFollower: two trusted peers (trusted_peers names both) and a follower set up with
// `pincluster follow NAME init TEMPLATE --bootstrap` and run with `follow NAME run`. The
// follower receives the pinset and pins everywhere-pins, is never picked by the ranked
// allocation but pins what it is allocated explicitly, and refuses pin, unpin and peers rm
// (CLI: one line, exit 2; REST: 403 with a JSON message) without changing anything.
func TestFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	work := t.TempDir()
	secret := strings.Repeat("cd", 32)
	env := []string{"CLUSTER_SECRET=" + secret, "CLUSTER_MONITORPINGINTERVAL=1s"}
	dirs := []string{filepath.Join(work, "p1"), filepath.Join(work, "p2")}
	for _, d := range dirs {
		initDir(t, d, env...)
	}
	trusted := []string{peerID(t, dirs[0]), peerID(t, dirs[1])}
	env = append(env, "CLUSTER_CRDT_TRUSTED_PEERS="+strings.Join(trusted, ","))
	p1 := startDaemon(t, dirs[0], env)
	var id struct{ Addresses []string }
	json.Unmarshal([]byte(p1.mustCLI("--enc", "json", "id")), &id)
	var addr string
	for _, a := range id.Addresses {
		if strings.Contains(a, "/127.0.0.1/") {
			addr = a
		}
	}
	p2 := startDaemon(t, dirs[1], env, "--bootstrap", addr)

	// The follower: a template from the cluster's operator, and the bootstrap address.
	followDir := filepath.Join(work, "follow")
	tmpl, _ := json.Marshal(map[string]any{
		"cluster":   map[string]any{"secret": secret, "monitor_ping_interval": "1s"},
		"consensus": map[string]any{"crdt": map[string]any{"trusted_peers": trusted}},
	})
	tmplFile := writeFile(t, filepath.Join(work, "template.json"), string(tmpl))
	if r := run(t, nil, "follow", "--follow-dir", followDir, "f1", "init", tmplFile, "--bootstrap", addr); r.code != 0 {
		t.Fatalf("follow init: %s", r)
	}
	if r := run(t, nil, "follow", "--follow-dir", followDir, "f1", "init", tmplFile, "--bootstrap", addr); r.code != 1 || !strings.Contains(r.stderr, "already initialized") {
		t.Fatalf("a second follow init: %s", r)
	}
	f := startFollower(t, followDir, "f1", nil)
	fid := peerID(t, f.dir)
	if r := run(t, nil, "follow", "--follow-dir", followDir, "list"); r.code != 0 || !strings.Contains(r.stdout, "f1") || !strings.Contains(r.stdout, fid) {
		t.Fatalf("follow list: %s", r)
	}
	waitFor(t, 60*time.Second, "the trusted peers to list the follower", func() bool {
		for _, d := range []*daemon{p1, p2} {
			if out := d.cli("peers", "ls"); out.code != 0 || !strings.Contains(out.stdout, fid) {
				return false
			}
		}
		return true
	})
	if r := run(t, nil, "follow", "--follow-dir", followDir, "f1", "info"); r.code != 0 || !strings.Contains(r.stdout, "running:") || !strings.Contains(r.stdout, "true") {
		t.Fatalf("follow info: %s", r)
	}

	// An everywhere-pin (replication -1, the default) reaches the follower, which pins it.
	everywhere := lastLine(p1.mustCLI("add", "-q", writeFile(t, filepath.Join(work, "a.txt"), "follower e2e "+time.Now().String())))
	waitFor(t, 60*time.Second, "the follower to pin the everywhere-pin", func() bool {
		r := run(t, nil, "follow", "--follow-dir", followDir, "f1", "list")
		return r.code == 0 && strings.Contains(r.stdout, everywhere) && strings.Contains(strings.ToUpper(r.stdout), "PINNED")
	})

	// Ranked allocations skip the follower; an explicit allocation reaches it.
	waitFor(t, 30*time.Second, "the allocator to know the follower's metrics", func() bool {
		return strings.Contains(p1.cli("health", "metrics", "follower").stdout, fid)
	})
	for i := range 3 {
		c := lastLine(p1.mustCLI("add", "-q", "--replication", "2", writeFile(t, filepath.Join(work, fmt.Sprintf("r%d.txt", i)), fmt.Sprintf("ranked %d %s", i, time.Now()))))
		if out := p1.mustCLI("pin", "ls", c); strings.Contains(out, fid) {
			t.Fatalf("a ranked allocation picked the follower: %s", out)
		}
	}
	explicit := lastLine(p1.mustCLI("add", "-q", "--replication", "1", "--allocations", fid, writeFile(t, filepath.Join(work, "e.txt"), "explicit "+time.Now().String())))
	if out := p1.mustCLI("pin", "ls", explicit); !strings.Contains(out, fid) {
		t.Fatalf("the explicit allocation to the follower was not kept: %s", out)
	}
	waitFor(t, 60*time.Second, "the follower to pin its explicit allocation", func() bool {
		return countStatus(p2.peerStatuses(explicit), "pinned") == 1 && strings.Contains(f.cli("status", "--local", explicit).stdout, "PINNED")
	})

	// Writes on the follower are refused and change nothing.
	other := lastLine(p1.mustCLI("add", "-q", "--no-pin", writeFile(t, filepath.Join(work, "o.txt"), "never pinned "+time.Now().String())))
	cidFile := writeFile(t, filepath.Join(work, "cids.txt"), other+"\n")
	newFile := writeFile(t, filepath.Join(work, "new.txt"), "added on the follower "+time.Now().String())
	for _, args := range [][]string{{"pin", "add", other}, {"pin", "rm", everywhere}, {"peers", "rm", trusted[0]},
		{"add", newFile}, {"pin", "add", "--from", cidFile}, {"pin", "update", everywhere, other}} {
		r := f.cli(args...)
		if r.code != 2 || !strings.Contains(r.stderr, "this peer is a follower") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Fatalf("%v on the follower: want one line saying it is a follower, exit 2: %s", args, r)
		}
	}
	resp, err := http.Post(restURL(t, f.dir)+"/pins/"+other, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var apiErr struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if resp.StatusCode != http.StatusForbidden || json.Unmarshal(body, &apiErr) != nil || apiErr.Code != 403 || !strings.Contains(apiErr.Message, "this peer is a follower") {
		t.Fatalf("REST pin on the follower: %d %s", resp.StatusCode, body)
	}
	for _, d := range []*daemon{p1, p2, f} {
		if r := d.cli("pin", "ls", other); r.code == 0 {
			t.Fatalf("a refused pin is in a pinset: %s", r)
		}
		if r := d.cli("pin", "ls", everywhere); r.code != 0 {
			t.Fatalf("a refused unpin removed the pin: %s", r)
		}
	}
	if out := p1.mustCLI("peers", "ls"); !strings.Contains(out, trusted[0]) {
		t.Fatalf("a refused peers rm removed a peer: %s", out)
	}
}
