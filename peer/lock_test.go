package peer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// TestLockWaitsOutProbes: a daemon starting while a client probes (a shared lock held for an
// instant) still gets the lock; a daemon holding it still keeps others out.
func TestLockWaitsOutProbes(t *testing.T) {
	dir := t.TempDir()
	f, err := os.OpenFile(filepath.Join(dir, config.LockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := lockDir(dir)
		if err == nil {
			defer l.unlock()
			_, err = lockDir(dir)
			if !errors.Is(err, ErrDirLocked) {
				err = fmt.Errorf("a second lock: got %v, want ErrDirLocked", err)
			} else {
				err = nil
			}
		}
		got <- err
	}()
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
