package persistence

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

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
	n, _, err := s.CollectTombstones(ctx, upTo, nil, nil)
	return n, err
}

// CollectTombstones is DropTombstones going on without the members in exclude (silent beyond
// the absent-peer horizon): before each chunk of tombstones goes, each of them is recorded as
// excluded (ExcludeMember) at the greatest rank (crdt.Rank.Base) of the tombstones dropped so far, so its pins
// that raced these deletions are recognised, and only those: the watermark is what was
// collected, not the greatest clock seen, which would also catch pins the member made after
// every collected deletion. first lists the members excluded for the first time. It reads the
// tombstones from their index (tombstones.go); a store whose index is not complete yet has
// every record read once, and its index completed.
//
// keep (nil: none) names the binary CIDs whose tombstones stay this round: those this peer's
// tracker still has to unpin. An unpin waiting in the tracker's memory is lost with a crash,
// and its tombstone is how the startup state sync finds it again (a CID the pinset has no
// record of is never unpinned from the IPFS node: it may be the node's own pin).
func (s *Store) CollectTombstones(ctx context.Context, upTo map[peer.ID]uint64, exclude []peer.ID, keep func(cid []byte) bool) (dropped int, first []peer.ID, err error) {
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
	// victims: CIDs of the tombstones to collect; stale: index keys without a tombstone; left:
	// index keys of the tombstones kept, written while the index is being completed.
	var victims, stale, left [][]byte
	var watermark crdt.HLC
	flush := func() error {
		if len(victims) > 0 {
			// The watermarks are raised before the tombstones go, so they always cover them.
			newly, err := s.excludeLocked(exclude, excluded, watermark)
			first = append(first, newly...)
			if err != nil {
				return err
			}
			if err := s.raiseCollectedClock(watermark); err != nil {
				return err
			}
		}
		keys := make([][]byte, 0, 2*len(victims)+len(stale))
		for _, c := range victims {
			keys = append(keys, pinKeyOf(c), tombIdxKey(c))
		}
		keys = append(keys, stale...)
		// A key the index has already keeps its value: the unheld mark (tombstones.go).
		set, err := s.absentKeys(left)
		if err != nil {
			return err
		}
		if err := s.writeKeys(keys, set); err != nil {
			return err
		}
		dropped += len(victims)
		victims, stale, left = victims[:0], stale[:0], left[:0]
		return nil
	}
	// visit takes the record v of cid (nil: none).
	visit := func(cid, v []byte, indexed bool) error {
		switch {
		case len(v) == 0 || v[0]&^flagAfter != kindTombstone:
			if indexed {
				stale = append(stale, tombIdxKey(cid))
			}
		default:
			h, err := decodeRecord(v)
			if err != nil {
				return err
			}
			held := keep != nil && keep(cid)
			switch {
			case (held || h.seq > upTo[peer.ID(h.origin)]) && !indexed:
				left = append(left, tombIdxKey(cid))
			case held || h.seq > upTo[peer.ID(h.origin)]:
			default:
				// By rank: an expiry unpin's clock is fresh, its rank that of the pin it ended,
				// and only an op ranked under a tombstone can have lost to it.
				watermark = max(watermark, h.rank().Base)
				victims = append(victims, append([]byte(nil), cid...))
			}
		}
		if len(victims)+len(stale)+len(left) >= deleteChunk {
			return flush()
		}
		return nil
	}
	indexed := s.tombsIndexed.Load()
	if indexed {
		err = s.db.View(func(txn *badger.Txn) error {
			return iterateTxn(ctx, txn, prefixTombIdx, prefixTombIdx, func(key, _ []byte) error {
				cid := key[len(prefixTombIdx):]
				item, err := txn.Get(pinKeyOf(cid))
				if errors.Is(err, badger.ErrKeyNotFound) {
					return visit(cid, nil, true)
				}
				if err != nil {
					return err
				}
				return item.Value(func(v []byte) error { return visit(cid, v, true) })
			})
		})
	} else {
		err = s.iterate(ctx, prefixPin, func(key, v []byte) error { return visit(key[len(prefixPin):], v, false) })
	}
	if err == nil {
		err = flush()
	}
	if err == nil && !indexed {
		err = s.update(func(txn *badger.Txn) error { return txn.Set(keyTombIndexed, encU64(1)) })
		s.tombsIndexed.Store(err == nil)
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
// written first, so an interrupted trim never lets OpsFrom return an incomplete range; the
// next trim deletes what it left. A trim to the mark this process already trimmed to in full
// (Store.trimmed) deletes nothing: the entries it covers are gone, and iterating over their
// deleted keys until compaction drops them took 60 ms a round at 1M trimmed entries. Called
// under writeMu.
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
	if err != nil || floor == 0 || s.trimmed[origin] == floor {
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
	if err := s.deleteKeys(victims); err != nil {
		return err
	}
	s.trimmed[origin] = floor
	return nil
}

var errStop = fmt.Errorf("stop")

// absentKeys keeps, in place, the keys of keys that are not stored.
func (s *Store) absentKeys(keys [][]byte) ([][]byte, error) {
	if len(keys) == 0 {
		return keys, nil
	}
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		keys = slices.DeleteFunc(keys, func(k []byte) bool {
			if err != nil {
				return false
			}
			_, e := txn.Get(k)
			if errors.Is(e, badger.ErrKeyNotFound) {
				return false
			}
			err = e
			return true
		})
		return err
	})
	return keys, err
}

// deleteKeys deletes keys in one write batch.
func (s *Store) deleteKeys(keys [][]byte) error { return s.writeKeys(keys, nil) }

// writeKeys deletes del and writes empty values under set, in one write batch.
func (s *Store) writeKeys(del, set [][]byte) error {
	if len(del) == 0 && len(set) == 0 {
		return nil
	}
	if err := s.checkWrite(); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range del {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	for _, k := range set {
		if err := wb.Set(k, nil); err != nil {
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
	// The loaded records are not indexed as they are written, whatever the backup says: the
	// mark goes before (a load cut short leaves it off) and after (the backup's own).
	// The first goes through the low-disk guard, so a load into a disk already short of
	// space is refused before it writes anything; the second must not be refused, whatever
	// the load used: the backup's own mark would claim an index that was not built.
	unmark := func(update func(func(*badger.Txn) error) error) error {
		s.tombsIndexed.Store(false)
		return update(func(txn *badger.Txn) error {
			if err := txn.Delete(keyDigestUnpinsIdx); err != nil {
				return err
			}
			if err := txn.Delete(keyPackedReplicas); err != nil { // a backup of an earlier version: its replica keys go
				return err
			}
			return txn.Delete(keyTombIndexed)
		})
	}
	if err := unmark(s.update); err != nil {
		return fmt.Errorf("persistence: load backup %s: %w", src, err)
	}
	clear(s.trimmed) // the backup's log entries may lie below a trim mark
	if err := s.db.Load(f, 256); err != nil {
		return fmt.Errorf("persistence: load backup %s: %w", src, err)
	}
	if err := unmark(s.db.Update); err != nil {
		return fmt.Errorf("persistence: load backup %s: %w", src, err)
	}
	if err := s.load(); err != nil {
		return err
	}
	if err := s.dropOldReplicas(); err != nil {
		return fmt.Errorf("persistence: load backup %s: %w", src, err)
	}
	if err := s.indexDigestUnpins(); err != nil { // a listing aid, as at open
		s.log.Warn("persistence: index of the other peers' unpins not built; global listings may miss some", "err", err)
	}
	return nil
}
