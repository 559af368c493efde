package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pincluster/pincluster/config"
)

// No test in this package may reach a daemon on the default port (a user's): the default
// address is a loopback port nothing listens on, unless a test points it at a fake.
func init() { defaultHost = "/ip4/127.0.0.1/tcp/1" }

// runningDaemon makes dir look like the config dir of a running daemon serving the fake: the api
// file, and the dir's lock held (as the daemon holds it, until the test ends).
func runningDaemon(t *testing.T, dir string, f *fakeAPI) {
	t.Helper()
	writeAPIFile(t, dir, f.maddr()+"\n")
	lf, err := os.OpenFile(filepath.Join(dir, config.LockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	// The daemon's lock: an exclusive open-file-description lock on the whole file.
	if err := unix.FcntlFlock(lf.Fd(), unix.F_OFD_SETLK, &unix.Flock_t{Type: unix.F_WRLCK}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lf.Close() })
}

func writeAPIFile(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, config.APIFile), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// staleDaemon leaves what a SIGKILLed daemon leaves: the api file (here naming a live fake:
// another process now on that port) and an unlocked lock file.
func staleDaemon(t *testing.T, dir string, f *fakeAPI) {
	t.Helper()
	writeAPIFile(t, dir, f.maddr()+"\n")
	if err := os.WriteFile(filepath.Join(dir, config.LockFile), []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// homeOnly clears --config and $PINCLUSTER_PATH and points ~ at a temp dir; it returns
// ~/.pincluster.
func homeOnly(t *testing.T) string {
	t.Helper()
	isolate(t)
	t.Setenv(config.EnvPath, "")
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := filepath.Join(home, ".pincluster")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestNamedDirWithoutDaemon: --config or $PINCLUSTER_PATH naming a dir without a running daemon
// fails with one line and exit 1; it never falls back to the default address (here a fake
// that counts requests).
func TestNamedDirWithoutDaemon(t *testing.T) {
	other := newFakeAPI(t) // "someone else's" daemon
	old := defaultHost
	defaultHost = other.maddr()
	t.Cleanup(func() { defaultHost = old })

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		why   string
	}{
		{"no api file", func(*testing.T, string) {}, "no api file"},
		{"empty api file", func(t *testing.T, dir string) { writeAPIFile(t, dir, "\n") }, "empty api file"},
		{"stale api file", func(t *testing.T, dir string) { staleDaemon(t, dir, other) }, "stale api file: the daemon that wrote it is not running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := isolate(t)
			tc.setup(t, dir)
			want := "error: no daemon running for " + dir + " (" + tc.why + "); start it with 'pincluster --config " + dir + " daemon' or pass --host\n"
			for _, args := range [][]string{{"status"}, {"--config", dir, "status"}} {
				if len(args) > 1 {
					t.Setenv(config.EnvPath, "")
				}
				r := runCLI(t, args...)
				if r.code != ExitLocal || r.err != want || r.out != "" {
					t.Fatalf("%v: got %d %q %q\nwant %q", args, r.code, r.out, r.err, want)
				}
			}
			if n := other.count(); n != 0 {
				t.Fatalf("%d requests reached the daemon on the default address", n)
			}
			// --host still reaches it on purpose.
			if r := runCLI(t, "--config", dir, "--host", other.maddr(), "version"); r.code != 0 || other.count() != 1 {
				t.Fatalf("--host: %+v", r)
			}
			other.reset()
		})
	}
}

func TestNamedDirWithDaemon(t *testing.T) {
	dir := isolate(t)
	f := newFakeAPI(t)
	runningDaemon(t, dir, f)
	if r := runCLI(t, "version"); r.code != 0 || r.out != "0.1.0\n" || f.count() != 1 {
		t.Fatalf("%+v", r)
	}
}

// TestDefaultDir: without --config and $PINCLUSTER_PATH, ~/.pincluster's running daemon is used;
// a machine with no peer in ~/.pincluster talks to the default address (as ipfs-cluster-ctl
// does); a peer there that is not running is an error, not the default address.
func TestDefaultDir(t *testing.T) {
	atDefault := newFakeAPI(t)
	old := defaultHost
	defaultHost = atDefault.maddr()
	t.Cleanup(func() { defaultHost = old })

	t.Run("running daemon", func(t *testing.T) {
		dir := homeOnly(t)
		f := newFakeAPI(t)
		runningDaemon(t, dir, f)
		if r := runCLI(t, "version"); r.code != 0 || f.count() != 1 || atDefault.count() != 0 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("client only", func(t *testing.T) {
		homeOnly(t)
		if r := runCLI(t, "version"); r.code != 0 || atDefault.count() != 1 {
			t.Fatalf("%+v", r)
		}
		atDefault.reset()
	})
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		why   string
	}{
		{"initialized, not running", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, config.ConfigFile), []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "no api file"},
		{"stale api file", func(t *testing.T, dir string) { staleDaemon(t, dir, atDefault) }, "stale api file: the daemon that wrote it is not running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := homeOnly(t)
			tc.setup(t, dir)
			r := runCLI(t, "id")
			want := "error: no daemon running for " + dir + " (" + tc.why + "); start it with 'pincluster daemon' or pass --host\n"
			if r.code != ExitLocal || r.err != want || atDefault.count() != 0 {
				t.Fatalf("got %d %q, %d requests at the default address\nwant %q", r.code, r.err, atDefault.count(), want)
			}
		})
	}
}

// TestInitWhileDaemonRuns: init, -f or not, fails in one line while a daemon holds the dir.
func TestInitWhileDaemonRuns(t *testing.T) {
	dir := isolate(t)
	if r := runCLI(t, "init"); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	ident, _ := os.ReadFile(filepath.Join(dir, config.IdentityFile))
	runningDaemon(t, dir, newFakeAPI(t))
	for _, args := range [][]string{{"init"}, {"init", "-f"}} {
		r := runCLI(t, args...)
		if r.code != ExitLocal || !strings.HasPrefix(r.err, "error: cannot initialize "+dir+": a pincluster daemon is running on it") ||
			strings.Count(r.err, "\n") != 1 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, config.IdentityFile)); string(b) != string(ident) {
		t.Fatal("the running daemon's identity was replaced")
	}
}
