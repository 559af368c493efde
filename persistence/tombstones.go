package persistence

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/pincluster/pincluster/api"
)

// The tombstone index lets a collection round read the tombstones alone instead of every
// record. Collection runs every state_sync_interval on the pinset actor's writer, and every pin
// posted meanwhile waits for it: at 10M pins a scan of the records was 7 s of CPU a round
// (profile of a quiet 10M-pin peer, 2026-12-03), in every round once the store held a single
// tombstone.
//
//	xt/<binary CID> -> empty   the CID's record is a tombstone
//	xt/<binary CID> -> 0x01    ... an unheld one (below)
//	m/tombs                    the index is complete (8 bytes, 1)
//
// An unheld tombstone (crdt.Unheld, Record.Unheld) is one this peer holds over no live record
// of its own: it arrived where the CID had no record (a snapshot or an op whose pin this peer
// never saw), or over another unheld tombstone. The cluster never pinned the CID on this
// peer's IPFS node for it, so it licenses no unpin there: the tracker and the state sync leave
// the node's pin of that CID alone (it is the operator's). A tombstone over a live record, and
// one over a tombstone that was not unheld, is held: it stands for a pin this peer may have
// made, which a crash between its commit and the tracker's queue write would otherwise leave
// on the node. The mark lives here, with the record's kind, since it is this peer's alone (a
// snapshot sends the record, and the receiver judges by its own records).
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
//   - A tombstone without its key, or with an empty value, counts as held: an unpin on a
//     doubt is what every tombstone did before the mark. So the round that completes an index
//     writes the keys of the tombstones it leaves empty, and a version before the mark, which
//     writes empty values and leaves a tombstone over a tombstone's key alone, errs the same
//     way. The mark costs a read only where it is asked for: a tombstone winning over a
//     tombstone, and the tombstones Get, PruneAbsent and DropAfterCutoff return.
var (
	prefixTombIdx  = []byte("xt/")
	keyTombIndexed = []byte("m/tombs")
	unheldMark     = []byte{1}
)

func tombIdxKey(cid []byte) []byte {
	k := make([]byte, 0, len(prefixTombIdx)+len(cid))
	return append(append(k, prefixTombIdx...), cid...)
}

// updateTombIdx keeps cid's index key in step with a record replaced: wasTomb is the kind of
// the record replaced (false where there was none), isTomb that of the new one, unheld
// whether a new tombstone over no tombstone is unheld (over no record at all). A tombstone
// over a tombstone keeps the key, and so its mark.
func updateTombIdx(txn *badger.Txn, cid []byte, wasTomb, isTomb, unheld bool) error {
	switch {
	case isTomb && !wasTomb && unheld:
		return txn.Set(tombIdxKey(cid), unheldMark)
	case isTomb && !wasTomb:
		return txn.Set(tombIdxKey(cid), nil)
	case wasTomb && !isTomb:
		return txn.Delete(tombIdxKey(cid))
	}
	return nil
}

// tombUnheld reads whether cid's tombstone is unheld (false without its index key: held).
func tombUnheld(txn *badger.Txn, cid []byte) (bool, error) {
	item, err := txn.Get(tombIdxKey(cid))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	unheld := false
	err = item.Value(func(v []byte) error {
		unheld = len(v) == 1 && v[0] == unheldMark[0]
		return nil
	})
	return unheld, err
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

// removedRecord is the record h stored under key, as a record removed outright (PruneAbsent,
// DropAfterCutoff) is told: a tombstone with its unheld mark.
func removedRecord(txn *badger.Txn, key []byte, h recordHeader) (Record, error) {
	c, err := api.CastCid(key[len(prefixPin):])
	if err != nil {
		return Record{}, fmt.Errorf("corrupt pin key: %w", err)
	}
	rec := Record{Op: h.toOp(c), Deleted: h.kind == kindTombstone}
	if rec.Deleted {
		rec.Unheld, err = tombUnheld(txn, key[len(prefixPin):])
	}
	return rec, err
}
