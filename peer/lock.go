package peer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pincluster/pincluster/config"
)

// errHeld: another process holds the lock.
var errHeld = errors.New("lock held")

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

// dirLock is an exclusive open-file-description lock (F_OFD_SETLK) on <dir>/daemon.lock, held
// while a daemon runs (and while init or a state command changes the directory). The kernel
// drops it when the process dies, so a SIGKILL never leaves a stale lock. OFD locks (unlike
// flock) can be tested without being taken (F_OFD_GETLK), so DaemonRunning never holds the
// lock, even for an instant, and a daemon starting meanwhile never has to wait or retry.
type dirLock struct{ f *os.File }

func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, config.LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open lock file %s: %w", path, err)
	}
	if err := tryLock(f); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if !errors.Is(err, errHeld) {
			return nil, fmt.Errorf("cannot lock %s: %w", path, err)
		}
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
	unlockFile(l.f)
	_ = l.f.Close()
}

// DaemonRunning reports whether a process holds dir's lock, i.e. a daemon (or init, or a state
// command) is running on dir. It only tests the lock (F_OFD_GETLK): it never creates the lock
// file nor takes the lock. Client commands use it to tell a live daemon's api file from one
// left by a daemon that died (SIGKILL, power loss).
func DaemonRunning(dir string) (bool, error) {
	f, err := os.Open(filepath.Join(dir, config.LockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	held, err := isLocked(f)
	if err != nil {
		return false, fmt.Errorf("cannot check the lock of %s: %w", dir, err)
	}
	return held, nil
}
