package peer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/config"
)

// TestInitRefusesADirInUse: init, with or without -f, must not replace the identity and config
// of a running daemon (here: a lock held as RunDaemon holds it).
func TestInitRefusesADirInUse(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	files := []string{config.ConfigFile, config.IdentityFile}
	before := map[string][]byte{}
	for _, f := range files {
		before[f], _ = os.ReadFile(filepath.Join(dir, f))
	}
	lock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		err := Init(dir, InitOptions{Force: force})
		if !errors.Is(err, ErrDirLocked) || !strings.Contains(err.Error(), "cannot initialize "+dir+": a pincluster daemon is running on it (pid ") ||
			strings.Contains(err.Error(), "\n") {
			t.Fatalf("init (force=%v) while locked: %v", force, err)
		}
	}
	for _, f := range files {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Equal(b, before[f]) {
			t.Fatalf("%s changed while a daemon held the dir", f)
		}
	}
	lock.unlock()
	if err := Init(dir, InitOptions{Force: true}); err != nil {
		t.Fatalf("init -f once the daemon stopped: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, config.IdentityFile)); bytes.Equal(b, before[config.IdentityFile]) {
		t.Fatal("init -f kept the old identity")
	}
}

func TestDaemonRunning(t *testing.T) {
	dir := t.TempDir()
	running := func() bool {
		t.Helper()
		ok, err := DaemonRunning(dir)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if running() {
		t.Fatal("running without a lock file")
	}
	if _, err := os.Stat(filepath.Join(dir, config.LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the probe created the lock file: %v", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !running() {
		t.Fatal("not running while the lock is held")
	}
	lock.unlock()
	if running() {
		t.Fatal("running after unlock (a dead daemon's lock file)")
	}
}

// TestProbesNeverBlockAStart: DaemonRunning only tests the lock, so a daemon starting while
// clients probe always gets it, and the probes see it held from then on.
func TestProbesNeverBlockAStart(t *testing.T) {
	dir := t.TempDir()
	if running, err := DaemonRunning(dir); err != nil || running {
		t.Fatalf("no lock file: running=%v err=%v", running, err)
	}
	stop := make(chan struct{})
	probed := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				probed <- n
				return
			default:
			}
			if _, err := DaemonRunning(dir); err != nil {
				t.Error(err)
			}
			n++
		}
	}()
	for range 200 {
		l, err := lockDir(dir)
		if err != nil {
			t.Fatalf("lockDir while probes run: %v", err)
		}
		if running, err := DaemonRunning(dir); err != nil || !running {
			t.Fatalf("lock held: running=%v err=%v", running, err)
		}
		if _, err := lockDir(dir); !errors.Is(err, ErrDirLocked) {
			t.Fatalf("a second lock: got %v, want ErrDirLocked", err)
		}
		l.unlock()
	}
	close(stop)
	t.Logf("%d probes ran meanwhile", <-probed)
	if running, err := DaemonRunning(dir); err != nil || running {
		t.Fatalf("after unlock: running=%v err=%v", running, err)
	}
}
