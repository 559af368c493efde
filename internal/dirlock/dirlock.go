// Package dirlock is the lock on a config directory (<dir>/daemon.lock) that a daemon holds
// while it runs, and init and the state commands while they change the directory. It is apart
// from peer because the offline commands (init, state) and the client commands (DaemonRunning)
// need it without a peer.
package dirlock

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

// ErrLocked is matched (errors.Is) when a config directory is held by a running daemon (or by
// init or a state command running on it).
var ErrLocked = errors.New("config directory in use")

// LockedError says who holds the lock; Msg, when set, replaces the daemon's wording.
type LockedError struct {
	Dir    string
	Holder string // " (pid N)" or ""
	Msg    string
}

func (e *LockedError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("another pincluster daemon is already running on %s%s: stop it or use another --config directory", e.Dir, e.Holder)
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is an exclusive open-file-description lock (F_OFD_SETLK) on <dir>/daemon.lock, held
// while a daemon runs (and while init or a state command changes the directory). The kernel
// drops it when the process dies, so a SIGKILL never leaves a stale lock. OFD locks (unlike
// flock) can be tested without being taken (F_OFD_GETLK), so DaemonRunning never holds the
// lock, even for an instant, and a daemon starting meanwhile never has to wait or retry.
type Lock struct{ f *os.File }

// Take takes dir's lock, or fails with a *LockedError (ErrLocked) naming the holder's pid.
func Take(dir string) (*Lock, error) {
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
		return nil, &LockedError{Dir: dir, Holder: holder}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{f: f}, nil
}

// Unlock releases the lock (nil-safe).
func (l *Lock) Unlock() {
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
