package persistence

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// The tombstone index lets a collection round read the tombstones alone instead of every
// record. Collection runs every state_sync_interval on the pinset actor's writer, and every pin
// posted meanwhile waits for it: at 10M pins a scan of the records was 7 s of CPU a round
// (profile of a quiet 10M-pin peer, 2026-12-03), in every round once the store held a single
// tombstone.
//
//	xt/<binary CID> -> empty   the CID's record is a tombstone
//	m/tombs                    the index is complete (8 bytes, 1)
//
// Decisions:
//   - The key is kept in the transaction that writes or deletes the record: set when an unpin
//     wins over a live pin or over no record (mergeRecord), deleted when a pin wins over a
//     tombstone and when a tombstone record is deleted (deleteRecords). Collection deletes
//     both in a write batch, which is not one transaction: the record goes first, so a crash
//     leaves at worst a key without its tombstone, which the next round deletes. Every store
//     maintains the index, complete or not.
//   - A store made before the index, or one a backup was loaded into (Badger's Load writes
//     records behind mergeRecord's back), is not marked complete. Its next collection round
//     scans every record once, as all rounds did before, and indexes the tombstones it leaves;
//     the round holds writeMu, so no record changes meanwhile, and marks the index complete
//     when its scan ran to the end.
//   - An index key whose record is not a tombstone (none should be) is deleted by the round
//     that finds it; a tombstone without its key would only never be collected, which is safe.
//   - A store marked complete and then written by a version before the index would hold
//     tombstones without keys: downgrades go through `state export` and `state import`.
var (
	prefixTombIdx  = []byte("xt/")
	keyTombIndexed = []byte("m/tombs")
)

func tombIdxKey(cid []byte) []byte {
	k := make([]byte, 0, len(prefixTombIdx)+len(cid))
	return append(append(k, prefixTombIdx...), cid...)
}

// updateTombIdx keeps cid's index key in step with a record replaced: wasTomb is the kind of
// the record replaced (false where there was none), isTomb that of the new one.
func updateTombIdx(txn *badger.Txn, cid []byte, wasTomb, isTomb bool) error {
	switch {
	case isTomb && !wasTomb:
		return txn.Set(tombIdxKey(cid), nil)
	case wasTomb && !isTomb:
		return txn.Delete(tombIdxKey(cid))
	}
	return nil
}

// readTombIndexed reads whether the tombstone index is complete.
func readTombIndexed(txn *badger.Txn) (bool, error) {
	_, err := txn.Get(keyTombIndexed)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// MayHoldTombstones reports whether a collection round may find a tombstone: the index holds a
// key, or it is not complete. A round that finds none can skip what it would read to decide
// which tombstones to keep.
func (s *Store) MayHoldTombstones() (bool, error) {
	if err := s.enter(); err != nil {
		return false, err
	}
	defer s.leave()
	if !s.tombsIndexed.Load() {
		return true, nil
	}
	may := false
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixTombIdx})
		defer it.Close()
		it.Rewind()
		may = it.Valid()
		return nil
	})
	return may, err
}
