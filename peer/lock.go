package peer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pincluster/pincluster/config"
)

// ErrDirLocked is matched (errors.Is) when a config directory is held by a running daemon (or by
// init or a state command running on it).
var ErrDirLocked = errors.New("config directory in use")

// lockedError says who holds the lock; msg, when set, replaces the daemon's wording.
type lockedError struct {
	dir    string
	holder string // " (pid N)" or ""
	msg    string
}

func (e *lockedError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("another pincluster daemon is already running on %s%s: stop it or use another --config directory", e.dir, e.holder)
}

func (e *lockedError) Is(target error) bool { return target == ErrDirLocked }

// dirLock is an exclusive flock on <dir>/daemon.lock, held while a daemon runs (and while init
// or a state command changes the directory). The kernel drops it when the process dies, so a
// SIGKILL never leaves a stale lock, and DaemonRunning can tell a live daemon from a dead one.
type dirLock struct{ f *os.File }

// probeWait bounds how long lockDir waits for DaemonRunning probes, which hold a shared lock for
// a few microseconds: a daemon starting while a client probes must not fail.
const probeWait = 100 * time.Millisecond

func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, config.LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open lock file %s: %w", path, err)
	}
	fd := int(f.Fd())
	err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	for deadline := time.Now().Add(probeWait); err != nil && time.Now().Before(deadline); {
		// A shared lock is granted only when nobody holds the exclusive one: then the holders
		// are probes, gone in microseconds. An exclusive holder is a daemon: fail at once.
		if syscall.Flock(fd, syscall.LOCK_SH|syscall.LOCK_NB) != nil {
			break
		}
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		time.Sleep(time.Millisecond)
		err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		holder := strings.TrimSpace(string(b))
		if holder != "" {
			holder = " (pid " + holder + ")"
		}
		return nil, &lockedError{dir: dir, holder: holder}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &dirLock{f: f}, nil
}

func (l *dirLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}

// DaemonRunning reports whether a process holds dir's lock, i.e. a daemon (or init, or a state
// command) is running on dir. It only probes: it never creates the lock file, and holds a shared
// lock for the instant of the test, which lockDir waits out. Client commands use it to tell a
// live daemon's api file from one left by a daemon that died (SIGKILL, power loss).
func DaemonRunning(dir string) (bool, error) {
	f, err := os.Open(filepath.Join(dir, config.LockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); {
	case err == nil:
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	default:
		return false, fmt.Errorf("cannot check the lock of %s: %w", dir, err)
	}
}
