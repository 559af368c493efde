package persistence

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// deleteChunk bounds the keys deleted per transaction.
const deleteChunk = 10000

// DropTombstones removes the tombstones whose unpin op every peer has seen
// (op.Seq <= upTo[op.Origin]) and trims each origin's op log up to min(upTo[origin], the
// local version vector entry); OpsFrom then answers ErrTrimmed for the trimmed range. It
// returns the number of tombstones dropped.
//
// upTo must be causally stable: the pointwise minimum of the version vectors of every peer of
// the cluster. A pin op older than a dropped tombstone that some peer has not received yet
// would resurrect its CID on that peer, so callers should also wait long enough (e.g. a few
// anti-entropy rounds) before collecting.
func (s *Store) DropTombstones(ctx context.Context, upTo map[peer.ID]uint64) (int, error) {
	n, _, err := s.CollectTombstones(ctx, upTo, nil)
	return n, err
}

// CollectTombstones is DropTombstones going on without the members in exclude (silent beyond
// the absent-peer horizon): before each chunk of tombstones goes, each of them is recorded as
// excluded (ExcludeMember) at the greatest clock of the tombstones dropped so far, so its pins
// that raced these deletions are recognised, and only those: the watermark is what was
// collected, not the greatest clock seen, which would also catch pins the member made after
// every collected deletion. first lists the members excluded for the first time. A store known
// to hold no tombstone skips the scan of its records (tombstones.go).
func (s *Store) CollectTombstones(ctx context.Context, upTo map[peer.ID]uint64, exclude []peer.ID) (dropped int, first []peer.ID, err error) {
	if err := s.enter(); err != nil {
		return 0, nil, err
	}
	defer s.leave()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.checkWrite(); err != nil {
		return 0, nil, err
	}
	excluded, err := s.readExclusions()
	if err != nil {
		return 0, nil, err
	}
	var victims [][]byte
	var watermark crdt.HLC
	flush := func() error {
		if len(victims) == 0 {
			return nil
		}
		// The watermarks are raised before the tombstones go, so they always cover them.
		newly, err := s.excludeLocked(exclude, excluded, watermark)
		first = append(first, newly...)
		if err != nil {
			return err
		}
		if err := s.raiseCollectedClock(watermark); err != nil {
			return err
		}
		err = s.deleteKeys(victims)
		dropped += len(victims)
		victims = victims[:0]
		return err
	}
	scan, left := !s.tombs.none(), false
	start := s.tombs.scanStart()
	if scan {
		err = s.iterate(ctx, prefixPin, func(key, v []byte) error {
			if len(v) == 0 || v[0] != kindTombstone {
				return nil
			}
			h, err := decodeRecord(v)
			if err != nil {
				return err
			}
			if h.seq > upTo[peer.ID(h.origin)] {
				left = true
				return nil
			}
			watermark = max(watermark, h.clock)
			victims = append(victims, append([]byte(nil), key...))
			if len(victims) >= deleteChunk {
				return flush()
			}
			return nil
		})
	}
	if err == nil {
		err = flush()
	}
	if err == nil && scan && !left {
		s.tombs.scanned(start)
	}
	if err != nil {
		return dropped, first, fmt.Errorf("persistence: drop tombstones: %w", err)
	}
	for origin, up := range upTo {
		if err := s.trimLog(ctx, origin, up); err != nil {
			return dropped, first, fmt.Errorf("persistence: trim op log of %s: %w", origin, err)
		}
	}
	return dropped, first, nil
}

// trimLog deletes origin's log entries up to min(up, contiguous seq). The trim mark is
// written first, so an interrupted trim never lets OpsFrom return an incomplete range.
func (s *Store) trimLog(ctx context.Context, origin peer.ID, up uint64) error {
	var floor uint64
	err := s.update(func(txn *badger.Txn) error {
		contig, err := getU64(txn, originKey(prefixVV, origin))
		if err != nil {
			return err
		}
		cur, err := getU64(txn, originKey(prefixTrimmed, origin))
		if err != nil {
			return err
		}
		floor = max(cur, min(up, contig))
		if floor == cur {
			return nil
		}
		return txn.Set(originKey(prefixTrimmed, origin), encU64(floor))
	})
	if err != nil || floor == 0 {
		return err
	}
	prefix := opPrefix(origin)
	var victims [][]byte
	err = s.iterate(ctx, prefix, func(key, _ []byte) error {
		if binary.BigEndian.Uint64(key[len(prefix):]) > floor {
			return errStop
		}
		victims = append(victims, append([]byte(nil), key...))
		if len(victims) >= deleteChunk {
			err := s.deleteKeys(victims)
			victims = victims[:0]
			return err
		}
		return nil
	})
	if err != nil && err != errStop {
		return err
	}
	return s.deleteKeys(victims)
}

var errStop = fmt.Errorf("stop")

func (s *Store) deleteKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	if err := s.checkWrite(); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	return s.commit(wb.Flush)
}

// Backup writes a consistent copy of the whole store to the file dst (Badger's backup
// stream; restore it with LoadBackup). The file appears complete or not at all.
func (s *Store) Backup(dst string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("persistence: backup: %w", err)
	}
	tmp := dst + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("persistence: backup: %w", err)
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := s.db.Backup(w, 0); err != nil {
		f.Close()
		return fmt.Errorf("persistence: backup to %s: %w", dst, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("persistence: backup to %s: %w", dst, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("persistence: backup to %s: %w", dst, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("persistence: backup to %s: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("persistence: backup to %s: %w", dst, err)
	}
	return nil
}

// LoadBackup loads a file written by Backup into this store, which should be empty (keys
// present in both end up with the backup's values). No other writes may run meanwhile.
func (s *Store) LoadBackup(src string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	// Badger's Load writes records without mergeRecord: the pin key filter forgets what it
	// knew (every key "may be stored" meanwhile) and is loaded again after it.
	s.stopKeyLoad(false)
	s.pinKeys.reset()
	defer s.startKeyLoad()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("persistence: load backup: %w", err)
	}
	defer f.Close()
	s.tombs.forget()
	if err := s.db.Load(f, 256); err != nil {
		return fmt.Errorf("persistence: load backup %s: %w", src, err)
	}
	return s.load()
}
