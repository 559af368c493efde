package dirlock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pincluster/pincluster/config"
)

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
	lock, err := Take(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !running() {
		t.Fatal("not running while the lock is held")
	}
	lock.Unlock()
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
		l, err := Take(dir)
		if err != nil {
			t.Fatalf("Take while probes run: %v", err)
		}
		if running, err := DaemonRunning(dir); err != nil || !running {
			t.Fatalf("lock held: running=%v err=%v", running, err)
		}
		if _, err := Take(dir); !errors.Is(err, ErrLocked) {
			t.Fatalf("a second lock: got %v, want ErrLocked", err)
		}
		l.Unlock()
	}
	close(stop)
	t.Logf("%d probes ran meanwhile", <-probed)
	if running, err := DaemonRunning(dir); err != nil || running {
		t.Fatalf("after unlock: running=%v err=%v", running, err)
	}
}
