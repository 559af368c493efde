package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gocid "github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/internal/syncbuf"
)

// writeCidFile writes n distinct CIDs (raw, sha2-256 of seed and index), one per line.
func writeCidFile(t *testing.T, path, seed string, n int) map[string]bool {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	want := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		h, _ := multihash.Sum([]byte(fmt.Sprintf("%s %d", seed, i)), multihash.SHA2_256, -1)
		c := gocid.NewCidV1(gocid.Raw, h).String()
		want[c] = true
		fmt.Fprintln(w, c)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return want
}

// pinsetCids lists the daemon's pinset (pin ls --enc json).
func (d *daemon) pinsetCids() map[string]bool {
	d.t.Helper()
	out := d.mustCLI("--enc", "json", "pin", "ls")
	got := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var p struct {
			Cid string `json:"cid"`
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err == nil && p.Cid != "" {
			got[p.Cid] = true
		}
	}
	return got
}

// TestBatchIngestSurvivesSIGKILL ingests 100k pins through the CLI, kills the daemon with
// SIGKILL in the middle, restarts it and runs the file again: the job completes and the
// pinset holds exactly the file's pins.
func TestBatchIngestSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end, 100k pins")
	}
	work := t.TempDir()
	dir := filepath.Join(work, "p1")
	initDir(t, dir)
	d := startDaemon(t, dir, nil)
	file := filepath.Join(work, "cids.txt")
	want := writeCidFile(t, file, "ingest-e2e", 100_000)

	cmd := exec.Command(binPath, "--config", dir, "--enc", "json", "pin", "add", "--from", file)
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cliDone := make(chan error, 1)
	go func() { cliDone <- cmd.Wait() }()
	// Kill the daemon once part of the file is in.
	waitFor(t, 60*time.Second, "the first pins of the batch", func() bool { return len(d.pinsetCids()) > 0 })
	d.kill()
	select {
	case err := <-cliDone:
		if err == nil {
			t.Logf("the batch finished before the kill; the rerun still must change nothing: %s", out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the CLI did not end after its daemon was killed")
	}

	d = startDaemon(t, dir, nil)
	r := d.cli("--enc", "json", "pin", "add", "--from", file)
	if r.code != 0 {
		t.Fatalf("rerun: %s", r)
	}
	var sum struct {
		OK, Failed int
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || sum.OK != len(want) || sum.Failed != 0 {
		t.Fatalf("rerun summary %q (%v), want ok=%d failed=0", r.stdout, err, len(want))
	}
	got := d.pinsetCids()
	if len(got) != len(want) {
		t.Fatalf("pinset holds %d pins, want exactly the file's %d", len(got), len(want))
	}
	for c := range want {
		if !got[c] {
			t.Fatalf("%s of the file is not pinned", c)
		}
	}
}

// TestBatchIngestCLI checks the CLI's reports: bad lines by number with exit 2, text and JSON
// summaries, unpin --from, stdin.
func TestBatchIngestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	work := t.TempDir()
	dir := filepath.Join(work, "p1")
	initDir(t, dir)
	d := startDaemon(t, dir, nil)
	good := writeCidFile(t, filepath.Join(work, "good.txt"), "cli", 3)
	var cids []string
	for c := range good {
		cids = append(cids, c)
	}
	bad := filepath.Join(work, "bad.txt")
	os.WriteFile(bad, []byte(cids[0]+"\nnot-a-cid\n# comment\n"+cids[1]+"\n"+
		`{"cid":"`+cids[2]+`","replication_factor_min":3,"replication_factor_max":1}`+"\n\n"+cids[2]+"\nQmTooShort\n"), 0o644)
	r := d.cli("--enc", "json", "pin", "add", "--from", bad)
	if r.code != 2 {
		t.Fatalf("bad lines: want exit 2: %s", r)
	}
	var sum struct {
		OK, Failed  int
		FailedLines []struct {
			Line  int
			Input string
			Error string
		} `json:"failed_lines"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.OK != 3 || sum.Failed != 3 || len(sum.FailedLines) != 3 || sum.FailedLines[0].Line != 2 || sum.FailedLines[1].Line != 5 || sum.FailedLines[2].Line != 8 {
		t.Fatalf("summary %+v", sum)
	}
	// Text mode names the lines too.
	r = d.cli("pin", "add", "--from", bad)
	if r.code != 2 || !strings.Contains(r.stdout, `line 2: "not-a-cid"`) || !strings.Contains(r.stdout, "3 failed") {
		t.Fatalf("text report: %s", r)
	}
	// stdin, and unpin.
	cmd := exec.Command(binPath, "--config", dir, "pin", "rm", "--from", "-")
	cmd.Stdin = strings.NewReader(strings.Join(cids, "\n") + "\n")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pin rm --from -: %v: %s", err, b)
	}
	if n := len(d.pinsetCids()); n != 0 {
		t.Fatalf("%d pins left after pin rm --from", n)
	}
	// Usage errors are local (exit 1).
	if r := d.cli("pin", "add", "--from", bad, cids[0]); r.code != 1 {
		t.Fatalf("CID and --from together: %s", r)
	}
	if r := d.cli("pin", "add", "--from", filepath.Join(work, "missing.txt")); r.code == 0 {
		t.Fatalf("missing file: %s", r)
	}
}

// TestBatchIngestInterrupted: ^C ends a batch ingest with a summary of what is stored and exit
// 130, not a silent death; running the same command again finishes the job.
func TestBatchIngestInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end, 200k pins")
	}
	work := t.TempDir()
	dir := filepath.Join(work, "p1")
	initDir(t, dir)
	d := startDaemon(t, dir, nil)
	file := filepath.Join(work, "cids.txt")
	want := writeCidFile(t, file, "interrupt-e2e", 200_000)
	cmd := exec.Command(binPath, "--config", dir, "--enc", "json", "pin", "add", "--from", file)
	var out, errb syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cliDone := make(chan error, 1)
	go func() { cliDone <- cmd.Wait() }()
	waitFor(t, 60*time.Second, "the first pins of the batch", func() bool { return len(d.pinsetCids()) > 0 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Logf("signal: %v", err) // ended already
	}
	select {
	case <-cliDone:
	case <-time.After(60 * time.Second):
		t.Fatal("the CLI did not end after ^C")
	}
	if code := cmd.ProcessState.ExitCode(); code == 0 {
		t.Logf("the batch finished before the ^C: %s", out.String())
	} else {
		var sum struct {
			OK    int
			Error string
		}
		if code != 130 || json.Unmarshal([]byte(out.String()), &sum) != nil || !strings.Contains(sum.Error, "interrupted after") ||
			!strings.Contains(errb.String(), "run the same command again to finish") {
			t.Fatalf("interrupted: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
		}
		if n := len(d.pinsetCids()); n < sum.OK {
			t.Fatalf("%d lines acknowledged, %d pins stored", sum.OK, n)
		}
	}
	if r := d.cli("pin", "add", "--from", file); r.code != 0 {
		t.Fatalf("rerun: %s", r)
	}
	if n := len(d.pinsetCids()); n != len(want) {
		t.Fatalf("pinset holds %d pins after the rerun, want %d", n, len(want))
	}
}
