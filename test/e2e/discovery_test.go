package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientNeverReachesAnotherDaemon: a config dir without a running daemon (none ever, or one
// killed with its api file left behind) is an error in one line, never a connection to some
// other daemon; init cannot overwrite a running daemon's dir; a typo in service.json stops the
// daemon from starting, naming the section and key.
func TestClientNeverReachesAnotherDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	work := t.TempDir()
	dir := filepath.Join(work, "p1")
	initDir(t, dir)
	d := startDaemon(t, dir, nil)

	none := filepath.Join(work, "none")
	if err := os.MkdirAll(none, 0o700); err != nil {
		t.Fatal(err)
	}
	want := "error: no daemon running for " + none + " (no api file); start it with 'pincluster --config " + none + " daemon' or pass --host\n"
	if r := run(t, nil, "--config", none, "status"); r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Fatalf("status on a dir without a daemon: %s\nwant stderr %q", r, want)
	}
	if r := run(t, []string{"PINCLUSTER_PATH=" + none}, "id"); r.code != 1 || r.stderr != want {
		t.Fatalf("id with PINCLUSTER_PATH of a dir without a daemon: %s", r)
	}

	ident, _ := os.ReadFile(filepath.Join(dir, "identity.json"))
	for _, args := range [][]string{{"init"}, {"init", "-f"}} {
		r := d.cli(args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "error: cannot initialize "+dir+": a pincluster daemon is running on it (pid ") ||
			strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("%v while the daemon runs: %s", args, r)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "identity.json")); string(b) != string(ident) {
		t.Fatal("init replaced the running daemon's identity")
	}
	d.mustCLI("id")

	d.kill() // SIGKILL: the api file stays behind
	if _, err := os.Stat(filepath.Join(dir, "api")); err != nil {
		t.Fatalf("api file after SIGKILL: %v", err)
	}
	want = "error: no daemon running for " + dir + " (stale api file: the daemon that wrote it is not running); start it with 'pincluster --config " + dir + " daemon' or pass --host\n"
	if r := d.cli("id"); r.code != 1 || r.stderr != want {
		t.Fatalf("id after the daemon was killed: %s\nwant stderr %q", r, want)
	}

	typo := filepath.Join(work, "typo")
	initDir(t, typo)
	cfgPath := filepath.Join(typo, "service.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `"informer": {`, `"informer": {"tagz": {"region": "eu"},`, 1))
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "--config", typo, "daemon")
	if r.code != 1 || !strings.Contains(r.stderr, "error: "+cfgPath+`: informer: unknown key "tagz" (known keys: metric_ttl, tags)`) ||
		strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("daemon with a typo in service.json: %s", r)
	}
}
