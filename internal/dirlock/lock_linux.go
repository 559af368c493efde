package dirlock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// On Linux the config-dir lock is an open-file-description lock on the whole file: it can be
// tested without being taken (F_OFD_GETLK), so a client's probe never makes a starting daemon
// fail or wait. (flock and OFD locks do not see each other: a daemon of an older version,
// which took a flock, is not seen; stop old daemons before upgrading, as seed 003 says.)

func wholeFile(typ int16) *unix.Flock_t {
	return &unix.Flock_t{Type: typ, Whence: 0, Start: 0, Len: 0}
}

func tryLock(f *os.File) error {
	err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, wholeFile(unix.F_WRLCK))
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return errHeld
	}
	return err
}

func unlockFile(f *os.File) {
	_ = unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, wholeFile(unix.F_UNLCK))
}

func isLocked(f *os.File) (bool, error) {
	lk := wholeFile(unix.F_WRLCK)
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, lk); err != nil {
		return false, err
	}
	return lk.Type != unix.F_UNLCK, nil
}
