package persistence

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// Snapshots: a peer whose op log was trimmed (DropTombstones) cannot send the ops a new or
// long-offline peer lacks, so it sends its records instead, page by page in key order
// (IterateRecordsAfter), with its version vector read before each page. The receiver merges
// every page (ApplySnapshot), removes its own records that the sender has superseded and
// collected (PruneAbsent), and at the end raises its version vector to the snapshot's
// (RaiseVersionVector); the ordinary op pull then continues from there.

// IterateRecordsAfter is IterateRecords starting after the record of after (from the first
// record when after is undefined), in key order: the pages of a snapshot.
func (s *Store) IterateRecordsAfter(ctx context.Context, after api.Cid, fn func(Record) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	seek := prefixPin
	var skip []byte
	if after.Defined() {
		skip = pinKey(after)
		seek = skip
	}
	return s.db.View(func(txn *badger.Txn) error {
		return iterateTxn(ctx, txn, prefixPin, seek, func(key, v []byte) error {
			if skip != nil && bytes.Equal(key, skip) {
				return nil
			}
			c, err := api.CastCid(key[len(prefixPin):])
			if err != nil {
				return fmt.Errorf("persistence: corrupt pin key: %w", err)
			}
			h, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("persistence: record of %s: %w", c, err)
			}
			return fn(Record{Op: h.toOp(c), Deleted: h.kind == kindTombstone})
		})
	})
}

// snapshotOp is the op a snapshot record merges as: a tombstone is an unpin without JSON.
func snapshotOp(r Record) crdt.Op {
	op := r.Op
	if r.Deleted {
		op.Kind = crdt.OpUnpin
		op.PinJSON = nil
	}
	return op
}

// ApplySnapshot merges records from another peer's snapshot under last-writer-wins, exactly as
// Apply merges ops, but without logging them or touching the version vector (the records'
// ops are not all known, only their winners). A record whose op this peer has already seen
// (within its version vector or in its op log) is skipped: its effect is already here, and
// where its CID has no record here any more, a collected tombstone superseded it. changed[i]
// says whether records[i] won and is now its CID's record, and whether over no record at all
// (crdt.Created). The live pin count and the greatest clock are kept. Invalid records
// fail the whole call before anything is written (api.ErrInvalid); on a later error, changed
// holds the flags of the chunks committed before it and applying again is harmless.
func (s *Store) ApplySnapshot(records []Record) (changed []crdt.Effect, err error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if err := CheckSnapshot(records); err != nil {
		return nil, err
	}
	ops := make([]crdt.Op, len(records))
	for i, r := range records {
		ops[i] = snapshotOp(r)
	}
	return s.inChunks(ops, "apply snapshot", s.mergeChunk)
}

// CheckSnapshot fails as ApplySnapshot does on an invalid record, writing nothing: a caller
// that prunes before it merges checks the page first, so that an invalid page changes
// nothing at all.
func CheckSnapshot(records []Record) error {
	for i, r := range records {
		if err := checkOp(snapshotOp(r)); err != nil {
			return fmt.Errorf("persistence: snapshot record %d: %w", i, err)
		}
	}
	return nil
}

func (s *Store) mergeChunk(ops []crdt.Op, changed []crdt.Effect) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	count := s.pinCount.Load()
	maxClock := s.maxClock.Load()
	origins := map[peer.ID]*originState{}
	log := newLogWriter(txn) // logs nothing: finds and splits runs for mergeRecord
	var raced []crdt.Op
	for j, op := range ops {
		// A record whose op this peer has already applied is reflected here: by this record,
		// by a newer one, or by nothing when a tombstone that superseded it was collected.
		// Merging it again would resurrect that deletion (a stale peer's snapshot).
		st, err := s.loadOrigin(txn, origins, op.Origin)
		if err != nil {
			return err
		}
		if seen, err := st.isDuplicate(txn, log, op); err != nil || seen {
			if err != nil {
				return err
			}
			continue
		}
		eff, delta, absent, err := s.mergeRecord(txn, log, op)
		if err != nil {
			return err
		}
		won := eff.Won()
		changed[j] = eff
		count += delta
		if won && absent && s.racesCollection(op) {
			if err := markRaced(txn, op); err != nil {
				return err
			}
			raced = append(raced, op)
		}
		maxClock = max(maxClock, uint64(op.Clock))
	}
	if err := log.finish(); err != nil {
		return err
	}
	if err := txn.Set(keyPinCount, encU64(uint64(count))); err != nil {
		return err
	}
	if err := txn.Set(keyMaxClock, encU64(maxClock)); err != nil {
		return err
	}
	if err := s.commit(txn.Commit); err != nil {
		clear(s.origins) // whatever the failed commit left on disk is read again
		return err
	}
	s.rememberOrigins(origins)
	s.raced = append(s.raced, raced...)
	s.pinCount.Store(count)
	s.maxClock.Store(maxClock)
	return nil
}

// PruneAbsent removes the local records whose keys lie in (after, through] (after undefined:
// from the first record; through undefined: to the last), that are not among present, and
// whose winning op the snapshot's sender had seen (seq <= vv[origin]). The sender then held a
// newer record for that CID, and its absence means a tombstone that every peer had seen was
// collected: without pruning, a peer that was offline meanwhile would keep (and resurrect) the
// pin. present lists the CIDs of the snapshot page covering that range; vv is the sender's
// version vector read before that page. It returns the removed records.
func (s *Store) PruneAbsent(ctx context.Context, after, through api.Cid, present []api.Cid, vv map[peer.ID]uint64) ([]Record, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var keep map[string]bool // made at the first record of the range: a fresh peer's range is empty
	seek := prefixPin
	var skip, last []byte
	if after.Defined() {
		skip = pinKey(after)
		seek = skip
	}
	if through.Defined() {
		last = pinKey(through)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var removed []Record
	var victims [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		return iterateTxn(ctx, txn, prefixPin, seek, func(key, v []byte) error {
			if last != nil && bytes.Compare(key, last) > 0 {
				return errStop
			}
			if skip != nil && bytes.Equal(key, skip) {
				return nil
			}
			if keep == nil {
				keep = make(map[string]bool, len(present))
				for _, c := range present {
					keep[string(pinKey(c))] = true
				}
			}
			if keep[string(key)] {
				return nil
			}
			h, err := decodeRecord(v)
			if err != nil {
				return err
			}
			if h.seq > vv[peer.ID(h.origin)] {
				return nil
			}
			rec, err := removedRecord(txn, key, h)
			if err != nil {
				return err
			}
			removed = append(removed, rec)
			victims = append(victims, append([]byte(nil), key...))
			return nil
		})
	})
	if err != nil && err != errStop {
		return nil, fmt.Errorf("persistence: prune records absent from a snapshot: %w", err)
	}
	if err := s.deleteRecordsChunked(victims, removed); err != nil {
		return nil, fmt.Errorf("persistence: prune records absent from a snapshot: %w", err)
	}
	return removed, nil
}

// deleteRecordsChunked is deleteRecords in transactions of bounded size.
func (s *Store) deleteRecordsChunked(keys [][]byte, recs []Record) error {
	for i := 0; i < len(keys); i += deleteChunk / 10 {
		j := min(i+deleteChunk/10, len(keys))
		if err := s.deleteRecords(keys[i:j], recs[i:j]); err != nil {
			return err
		}
	}
	return nil
}

// deleteRecords deletes record keys and keeps the live count, in one transaction.
func (s *Store) deleteRecords(keys [][]byte, recs []Record) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	count := s.pinCount.Load()
	for i, k := range keys {
		if err := txn.Delete(k); err != nil {
			return err
		}
		if recs[i].Deleted {
			if err := txn.Delete(tombIdxKey(k[len(prefixPin):])); err != nil {
				return err
			}
		} else {
			count--
			if err := updateIndexes(txn, indexKeys(k[len(prefixPin):], recs[i].Op.PinJSON), nil); err != nil {
				return err
			}
		}
	}
	if err := txn.Set(keyPinCount, encU64(uint64(count))); err != nil {
		return err
	}
	if err := s.commit(txn.Commit); err != nil {
		return err
	}
	s.pinCount.Store(count)
	return nil
}

// RaiseVersionVector records that this peer holds the effect of every op up to vv[origin]
// (after a snapshot taken at vv was applied): each origin's version vector entry becomes at
// least vv[origin] (then moves on over ops already stored after it), and the op log is
// marked trimmed up to vv[origin], since those ops are not in it: OpsFrom answers ErrTrimmed
// for that range, TrimmedTo reports it, and LastSeq is at least the new entry. Entries never
// move backwards; an origin whose entry is already >= vv[origin] is left alone (its log is
// complete). The entry and the trim mark move in one transaction, so an interruption never
// lets OpsFrom return an incomplete range.
func (s *Store) RaiseVersionVector(ctx context.Context, vv map[peer.ID]uint64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	for origin, up := range vv {
		if up == 0 {
			continue
		}
		if origin == "" || len(origin) > 255 {
			return fmt.Errorf("persistence: raise version vector: %w: origin %q is not a valid peer ID", api.ErrInvalid, origin)
		}
		raised := false
		delete(s.origins, origin) // v/ and l/ change here: read them again after
		err := s.update(func(txn *badger.Txn) error {
			contig, err := getU64(txn, originKey(prefixVV, origin))
			if err != nil || up <= contig {
				return err
			}
			last, err := getU64(txn, originKey(prefixLast, origin))
			if err != nil {
				return err
			}
			trimmed, err := getU64(txn, originKey(prefixTrimmed, origin))
			if err != nil {
				return err
			}
			st := &originState{contig: up, last: last}
			if err := fillForward(txn, origin, st); err != nil { // ops stored after a gap now count
				return err
			}
			contig = st.contig
			raised = true
			for k, v := range map[string]uint64{
				string(originKey(prefixVV, origin)):      contig,
				string(originKey(prefixLast, origin)):    max(last, contig),
				string(originKey(prefixTrimmed, origin)): max(trimmed, up),
			} {
				if err := txn.Set([]byte(k), encU64(v)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("persistence: raise version vector of %s: %w", origin, err)
		}
		if !raised {
			continue
		}
		if err := s.deleteLogUpTo(ctx, origin, up); err != nil {
			return fmt.Errorf("persistence: drop op log entries of %s covered by a snapshot: %w", origin, err)
		}
	}
	return nil
}

// deleteLogUpTo deletes origin's op log entries of seq <= floor (already marked trimmed).
func (s *Store) deleteLogUpTo(ctx context.Context, origin peer.ID, floor uint64) error {
	prefix := opPrefix(origin)
	var victims [][]byte
	err := s.iterate(ctx, prefix, func(key, _ []byte) error {
		if binary.BigEndian.Uint64(key[len(prefix):]) > floor {
			return errStop
		}
		victims = append(victims, append([]byte(nil), key...))
		return nil
	})
	if err != nil && err != errStop {
		return err
	}
	for i := 0; i < len(victims); i += deleteChunk {
		if err := s.deleteKeys(victims[i:min(i+deleteChunk, len(victims))]); err != nil {
			return err
		}
	}
	return nil
}
