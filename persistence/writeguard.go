package persistence

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/pincluster/pincluster/api"
)

// DefaultMinFreeSpace is the free space the store's filesystem keeps in reserve when
// Options.MinFreeSpace is 0: room for a memtable's log, its flush to a table and a compaction.
const DefaultMinFreeSpace = 64 << 20

// ErrCorrupt: the store's files cannot be opened as a Badger database (damaged or partly
// missing). The message says how to recover (state cleanup, then a resync or an import).
var ErrCorrupt = errors.New("the pinset store is damaged")

// A reading of the free space that leaves spareRoom above the reserve is reused for roomyFor:
// one statfs per group commit was 2% of a daemon's CPU under single POSTs, and no write path
// here fills 256 MiB in 100 ms (another program filling the same disk that fast could; the
// reserve is a guard, not a quota). Closer to the reserve every write reads it again.
const (
	spareRoom = 256 << 20
	roomyFor  = 100 * time.Millisecond
)

// checkWrite runs before every write: an injected fault (Options.WriteFault) fails it as a
// failing disk would, and so does a filesystem with less free space than the reserve. Badger
// writes through memory-mapped files: on a full disk such a write kills the process (SIGBUS)
// instead of failing with ENOSPC, so the store stops while there is room.
func (s *Store) checkWrite() error {
	if s.writeFault != nil {
		if err := s.writeFault(); err != nil {
			return s.writeError(err)
		}
	}
	if s.minFree <= 0 {
		return nil
	}
	now := int64(s.sinceOpen()) + 1 // monotonic: a clock set back cannot stretch the reuse; never 0
	if at := s.roomyAt.Load(); at != 0 && now-at < int64(roomyFor) {
		return nil
	}
	free, err := s.freeSpace(s.dir)
	if err != nil {
		return nil // cannot tell: let Badger try
	}
	if free >= uint64(s.minFree)+spareRoom {
		s.roomyAt.Store(now)
	}
	if free >= uint64(s.minFree) {
		return nil
	}
	return fmt.Errorf("%w: the disk holding the pinset store (%s) has %s free, under the %s it keeps in reserve (datastore.min_free_space); "+
		"nothing was stored: free space on that disk (reads keep working, writes resume by themselves)",
		api.ErrInsufficientStorage, s.dir, mib(free), mib(uint64(s.minFree)))
}

// commit runs the last step of a write (a transaction's Commit, a write batch's Flush) and
// turns its failure into the store's write error.
func (s *Store) commit(do func() error) error {
	return s.writeError(do())
}

// update is db.Update with checkWrite first and the commit's error classified.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	if err := s.checkWrite(); err != nil {
		return err
	}
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	if err := fn(txn); err != nil {
		return err
	}
	return s.commit(txn.Commit)
}

// writeError classifies a failed commit: a closed store is unavailable (503); any other failure
// to write, a full disk first of all, is insufficient storage (507) and nothing of it is
// stored (Badger discards a transaction whose commit failed).
func (s *Store) writeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrDBClosed), errors.Is(err, badger.ErrBlockedWrites):
		return fmt.Errorf("%w: the pinset store is closed: %w", api.ErrUnavailable, err)
	case errors.Is(err, badger.ErrTxnTooBig):
		return err // the caller splits the write
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: the disk holding the pinset store (%s) is full (%w); nothing was stored: "+
			"free space on that disk (reads keep working, writes resume by themselves)", api.ErrInsufficientStorage, s.dir, err)
	default:
		return fmt.Errorf("%w: the pinset store (%s) cannot write (%w); nothing was stored: "+
			"check that disk (reads keep working, writes resume once it accepts them)", api.ErrInsufficientStorage, s.dir, err)
	}
}

// openError explains why Badger could not open the store in dir.
func openError(dir string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Cannot acquire directory lock"), errors.Is(err, syscall.EWOULDBLOCK):
		return fmt.Errorf("persistence: the pinset store in %q is in use by another process (is another pincluster running on this folder?): %w", dir, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("persistence: cannot open the pinset store in %q: %w (check the owner and mode of that folder)", dir, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("persistence: cannot open the pinset store in %q: %w: free space on that disk", dir, api.ErrInsufficientStorage)
	}
	return corruptError(dir, msg)
}

// corruptError is the one error for a store that cannot be read: what is wrong and the
// disaster-recovery steps (seeds/003: export the state from a copy that has it, clean up this
// peer, import).
func corruptError(dir, detail string) error {
	return fmt.Errorf("persistence: %w and cannot be opened (%s: %s). To recover: stop the daemon, run "+
		"`pincluster state cleanup` (it moves the damaged store aside as a backup), then start the daemon to sync "+
		"the pinset from the other peers, or import a copy exported with `pincluster state export` on a peer that "+
		"still has the state: `pincluster state import FILE`", ErrCorrupt, dir, detail)
}

func mib(b uint64) string { return fmt.Sprintf("%d MiB", b>>20) }
