package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var cidRe = regexp.MustCompile(`\b(Qm[1-9A-HJ-NP-Za-km-z]{44}|baf[a-z2-7]{50,})\b`)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (d *daemon) waitStatus(cid, status string) {
	d.t.Helper()
	waitFor(d.t, 60*time.Second, cid+" "+status, func() bool {
		r := d.cli("status", cid)
		return r.code == 0 && strings.Contains(strings.ToUpper(r.stdout), strings.ToUpper(status))
	})
}

// TestSinglePeerCLI drives every client command against one daemon.
func TestSinglePeerCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	work := t.TempDir()
	dir := filepath.Join(work, "p1")
	initDir(t, dir)
	d := startDaemon(t, dir, nil)

	// id, version, peers ls
	id := d.mustCLI("--enc", "json", "id")
	var idObj struct {
		ID        string   `json:"id"`
		Addresses []string `json:"addresses"`
	}
	if err := json.Unmarshal([]byte(id), &idObj); err != nil || idObj.ID == "" {
		t.Fatalf("id --enc json: %v %q", err, id)
	}
	if out := d.mustCLI("id"); !strings.Contains(out, idObj.ID) {
		t.Fatalf("id text lacks the peer ID: %q", out)
	}
	if out := d.mustCLI("version"); !strings.Contains(out, "0.") {
		t.Fatalf("version: %q", out)
	}
	if out := d.mustCLI("peers", "ls"); !strings.Contains(out, idObj.ID) {
		t.Fatalf("peers ls: %q", out)
	}

	// add: a file (quiet and verbose), a directory tree, options
	f := writeFile(t, filepath.Join(work, "hello.txt"), "hello world\n")
	cid := lastLine(d.mustCLI("add", "-q", f))
	if cid != "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o" {
		t.Fatalf("add -q of 'hello world\\n' = %q, want Kubo's CID", cid)
	}
	if out := d.mustCLI("add", "--cid-version", "1", f); !strings.Contains(out, "added") || !strings.Contains(out, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4") {
		t.Fatalf("add --cid-version 1: %q", out)
	}
	writeFile(t, filepath.Join(work, "tree", "a.txt"), "a")
	writeFile(t, filepath.Join(work, "tree", "sub", "b.txt"), strings.Repeat("b", 300000))
	treeOut := d.mustCLI("add", "-r", "--chunker", "size-1024", "--layout", "trickle", "--raw-leaves", "--hash", "blake2b-256", "-w", filepath.Join(work, "tree"))
	if n := len(cidRe.FindAllString(treeOut, -1)); n < 4 {
		t.Fatalf("add -r of a tree listed %d CIDs: %q", n, treeOut)
	}
	treeRoot := cidRe.FindString(lastLine(treeOut))
	rabin := lastLine(d.mustCLI("add", "-q", "--chunker", "rabin", filepath.Join(work, "tree", "sub", "b.txt")))

	// pin ls and status
	for _, c := range []string{cid, treeRoot, rabin} {
		if out := d.mustCLI("pin", "ls"); !strings.Contains(out, c) {
			t.Fatalf("pin ls lacks %s: %q", c, out)
		}
		d.waitStatus(c, "PINNED")
	}
	if out := d.mustCLI("pin", "ls", cid); !strings.Contains(out, cid) {
		t.Fatalf("pin ls CID: %q", out)
	}
	if out := d.mustCLI("--enc", "json", "status", cid); !strings.Contains(out, `"peer_map"`) || !strings.Contains(out, `"attempt_count"`) || !strings.Contains(out, `"priority_pin"`) {
		t.Fatalf("status --enc json: %q", out)
	}
	if out := d.mustCLI("status", "--local", "--filter", "pinned"); !strings.Contains(out, cid) {
		t.Fatalf("status --local --filter pinned: %q", out)
	}
	if out := d.mustCLI("status", "--filter", "error,queued"); strings.Contains(out, cid) {
		t.Fatalf("status --filter error,queued lists a pinned CID: %q", out)
	}

	// CAR import: one root is pinned; zero/two roots, truncated and garbage are refused
	good := filepath.Join(work, "good.car")
	carCids := writeCAR(t, good, 1, []byte("car block one "+time.Now().String()), []byte("car block two"))
	if out := d.mustCLI("add", "--format", "car", good); !strings.Contains(out, carCids[0].String()) {
		t.Fatalf("add --format car printed %q, want root %s", out, carCids[0])
	}
	d.waitStatus(carCids[0].String(), "PINNED")
	// An empty directory is added as Kubo adds it (the empty UnixFS directory) and pinned.
	empty := filepath.Join(work, "emptydir")
	os.MkdirAll(empty, 0o755)
	emptyCid := "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
	if out := d.mustCLI("add", "-r", empty); !strings.Contains(out, "added "+emptyCid+" emptydir") {
		t.Fatalf("add -r of an empty directory printed %q, want %s", out, emptyCid)
	}
	d.waitStatus(emptyCid, "PINNED")
	before := d.mustCLI("pin", "ls")
	two := filepath.Join(work, "two.car")
	writeCAR(t, two, 2, []byte("x1"), []byte("x2"))
	raw, _ := os.ReadFile(good)
	trunc := writeFile(t, filepath.Join(work, "trunc.car"), string(raw[:len(raw)-5]))
	garbage := writeFile(t, filepath.Join(work, "garbage.car"), "not a car")
	for _, bad := range []string{two, trunc, garbage} {
		if r := d.cli("add", "--format", "car", bad); r.code == 0 || r.stderr == "" {
			t.Fatalf("add --format car %s accepted: %s", bad, r)
		}
	}

	// bad pin inputs: non-zero exit, one readable line, state untouched
	for _, args := range [][]string{
		{"pin", "add", "notacid"},
		{"pin", "add", "--replication-min", "3", "--replication-max", "2", cid},
		{"pin", "add", "--expire-in", "banana", cid},
		{"pin", "add", "--expire-in", "-5m", cid},
		{"pin", "add", "--mode", "sideways", cid},
		{"status", "--filter", "nonsense"},
		{"pin", "rm", "notacid"},
		{"pin", "add", "--name", strings.Repeat("n", 256), cid},
		{"add", "--hash", "md5", f},
	} {
		r := d.cli(args...)
		if r.code == 0 || strings.TrimSpace(r.stderr+r.stdout) == "" {
			t.Fatalf("bad input %v: %s", args, r)
		}
	}
	if after := d.mustCLI("pin", "ls"); after != before {
		t.Fatalf("bad inputs changed the pinset:\n%s\n---\n%s", before, after)
	}

	// pin add variants, pin rm, pin update
	if out := d.mustCLI("pin", "add", "--no-status", "--name", "named", "--metadata", "k=v", cid); !strings.Contains(out, cid) {
		t.Fatalf("pin add --no-status: %q", out)
	}
	if out := d.mustCLI("pin", "add", "--wait", "--wait-timeout", "60s", "--mode", "direct", rabin); !strings.Contains(strings.ToUpper(out), "PINNED") {
		t.Fatalf("pin add --wait: %q", out)
	}
	if out := d.mustCLI("--enc", "json", "pin", "ls", cid); !strings.Contains(out, `"named"`) {
		t.Fatalf("pin ls after rename: %q", out)
	}
	d.mustCLI("pin", "rm", "--wait", "--wait-timeout", "60s", rabin)
	if out := d.mustCLI("pin", "ls"); strings.Contains(out, rabin) {
		t.Fatalf("pin ls still lists a removed CID: %q", out)
	}
	if r := d.cli("pin", "rm", rabin); r.code == 0 {
		t.Fatalf("pin rm of an unpinned CID succeeded: %s", r)
	}
	d.mustCLI("pin", "update", "--name", "updated", cid, treeRoot)
	if out := d.mustCLI("--enc", "json", "pin", "ls", treeRoot); !strings.Contains(out, `"updated"`) {
		t.Fatalf("pin update did not rename the new pin: %q", out)
	}
	d.mustCLI("pin", "add", "--expire-in", "1h", "--replication", "1", treeRoot)

	// recover, gc, health
	if out := d.mustCLI("recover", cid); !strings.Contains(out, cid) {
		t.Fatalf("recover: %q", out)
	}
	d.mustCLI("recover", "--local")
	d.mustCLI("ipfs", "gc")
	if out := d.mustCLI("health", "metrics", "freespace"); !strings.Contains(out, idObj.ID[:8]) && !strings.Contains(out, "freespace") {
		t.Fatalf("health metrics freespace: %q", out)
	}
	d.mustCLI("health", "alerts")
	d.mustCLI("health", "graph")

	// replication above the number of peers fails clearly
	if r := d.cli("pin", "add", "--replication", "2", cid); r.code == 0 {
		t.Fatalf("replication 2 on one peer accepted: %s", r)
	}

	// a second daemon on the same config dir fails with a clear message
	if r := run(t, nil, "--config", dir, "daemon"); r.code == 0 || !strings.Contains(r.stderr+r.stdout, "already running") {
		t.Fatalf("second daemon on the same dir: %s", r)
	}

	// SIGTERM shuts down cleanly and removes the api file
	d.stop()
	if _, err := os.Stat(filepath.Join(dir, "api")); !os.IsNotExist(err) {
		t.Fatalf("api file left after a clean shutdown: %v", err)
	}
	if r := d.cli("id"); r.code == 0 {
		t.Fatalf("id answered after shutdown: %s", r)
	}
}

// TestCrashLosesNoAcknowledgedPin kills the daemon with SIGKILL right after pins are
// acknowledged, restarts it and finds every pin.
func TestCrashLosesNoAcknowledgedPin(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	work := t.TempDir()
	dir := filepath.Join(work, "p1")
	initDir(t, dir)
	d := startDaemon(t, dir, nil)
	var acked []string
	for i := 0; i < 20; i++ {
		f := writeFile(t, filepath.Join(work, fmt.Sprintf("f%d", i)), fmt.Sprintf("durable %d %d", i, time.Now().UnixNano()))
		acked = append(acked, lastLine(d.mustCLI("add", "-q", f)))
	}
	// pins of CIDs the node does not have are acknowledged too
	for i := 0; i < 20; i++ {
		c, _ := rawBlock(t, []byte(fmt.Sprintf("absent %d %d", i, time.Now().UnixNano())))
		d.mustCLI("pin", "add", "--no-status", c.String())
		acked = append(acked, c.String())
	}
	d.kill()
	d2 := startDaemon(t, dir, nil)
	ls := d2.mustCLI("pin", "ls")
	for _, c := range acked {
		if !strings.Contains(ls, c) {
			t.Fatalf("acknowledged pin %s lost after SIGKILL", c)
		}
	}
	d2.waitStatus(acked[0], "PINNED")
}
