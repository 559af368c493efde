package persistence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// Members: the durable set of trusted peers this peer has synced with, and when it last heard
// from each. Tombstone collection waits for every member's acknowledgement, not only for the
// peers that happen to be connected, so a member that is partitioned, stopped or killed keeps
// the tombstones it has not seen; a member silent for longer than the configured horizon stops
// counting (it rejoins through a snapshot), and is recorded as excluded at the collection
// watermark. `peers rm` removes a member.
//
//	mb/<peer ID>   last heard from (unix nanoseconds, 8 bytes)
//	mx/<peer ID>   excluded from a collection: the collection watermark of then (8 bytes)
//	mr/<peer ID>   removed with peers rm: the seq up to which its ops stay valid (8 bytes)
//	md/<peer ID>   the cutoff after which its records were dropped (DropAfterCutoff done;
//	               8 bytes): a removal whose md/ is below its mr/ still has its drop to do

var (
	prefixMember   = []byte("mb/")
	prefixExcluded = []byte("mx/")
	prefixRemoved  = []byte("mr/")
	prefixDropped  = []byte("md/")
)

// MarkDropped records that the records of id's ops after cutoff were dropped.
func (s *Store) MarkDropped(id peer.ID, cutoff uint64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	key := originKey(prefixDropped, id)
	return s.update(func(txn *badger.Txn) error {
		cur, err := getU64(txn, key)
		if err != nil || cutoff <= cur && cur > 0 {
			return err
		}
		return txn.Set(key, encU64(max(cur, cutoff)))
	})
}

// PendingDrops returns the removed peers whose records after their cutoff were not dropped
// yet (a drop that failed, or was cut by a stop), with their cutoffs.
func (s *Store) PendingDrops() (map[peer.ID]uint64, error) {
	removed, err := s.Removed()
	if err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	done := map[peer.ID]uint64{}
	if err := s.scanU64(prefixDropped, func(id peer.ID, v uint64) { done[id] = v }); err != nil {
		return nil, fmt.Errorf("persistence: dropped removals: %w", err)
	}
	for id, cutoff := range removed {
		if d, ok := done[id]; ok && d >= cutoff {
			delete(removed, id)
		}
	}
	return removed, nil
}

// TouchMember records that id was heard from at at (never moving the time backwards).
func (s *Store) TouchMember(id peer.ID, at time.Time) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if id == "" || len(id) > 255 {
		return fmt.Errorf("persistence: member %q is not a valid peer ID", id)
	}
	key := originKey(prefixMember, id)
	return s.update(func(txn *badger.Txn) error {
		cur, err := getU64(txn, key)
		if err != nil {
			return err
		}
		if uint64(at.UnixNano()) <= cur {
			return nil
		}
		return txn.Set(key, encU64(uint64(at.UnixNano())))
	})
}

// RemoveMember forgets a member and records it as removed (peers rm), for good: a removed
// peer's ops after cutoff are refused from then on, even after restarts (it may come back with
// old ops). The cutoff never moves down.
func (s *Store) RemoveMember(id peer.ID, cutoff uint64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if id == "" || len(id) > 255 {
		return fmt.Errorf("persistence: member %q is not a valid peer ID", id)
	}
	err := s.update(func(txn *badger.Txn) error {
		for _, prefix := range [][]byte{prefixMember, prefixExcluded} {
			if err := txn.Delete(originKey(prefix, id)); err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
		}
		cur, err := getU64(txn, originKey(prefixRemoved, id))
		if err != nil {
			return err
		}
		return txn.Set(originKey(prefixRemoved, id), encU64(max(cur, cutoff)))
	})
	if err == nil {
		// Under the write lock, so the cache a racing write reads is never older than this.
		s.writeMu.Lock()
		err = s.reloadExclusions()
		s.writeMu.Unlock()
	}
	return err
}

// ExcludeMember records that tombstones up to watermark were collected without id (never
// moving the watermark backwards). From then on, a pin op of origin id with a clock not after
// the watermark, for a CID that has no record here, raced a deletion whose tombstone is gone:
// it is still applied (logs and version vectors stay exact) and reported to the raced-pin
// handler, which supersedes it with an unpin that every peer applies alike.
func (s *Store) ExcludeMember(id peer.ID, watermark crdt.HLC) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if id == "" || len(id) > 255 {
		return fmt.Errorf("persistence: member %q is not a valid peer ID", id)
	}
	key := originKey(prefixExcluded, id)
	err := s.update(func(txn *badger.Txn) error {
		cur, err := getU64(txn, key)
		if err != nil || uint64(watermark) <= cur {
			return err
		}
		return txn.Set(key, encU64(uint64(watermark)))
	})
	if err == nil {
		// Under the write lock, so the cache a racing write reads is never older than this.
		s.writeMu.Lock()
		err = s.reloadExclusions()
		s.writeMu.Unlock()
	}
	return err
}

// excludeLocked raises the exclusion of each id to watermark (excluded holds the current ones
// and is updated); it returns the ids excluded for the first time. Callers hold writeMu.
func (s *Store) excludeLocked(ids []peer.ID, excluded map[peer.ID]crdt.HLC, watermark crdt.HLC) (first []peer.ID, err error) {
	var raise []peer.ID
	for _, id := range ids {
		if id == "" || len(id) > 255 {
			return nil, fmt.Errorf("persistence: member %q is not a valid peer ID", id)
		}
		if excluded[id] < watermark {
			raise = append(raise, id)
		}
	}
	if len(raise) == 0 || watermark == 0 {
		return nil, nil
	}
	err = s.update(func(txn *badger.Txn) error {
		for _, id := range raise {
			if err := txn.Set(originKey(prefixExcluded, id), encU64(uint64(watermark))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range raise {
		if excluded[id] == 0 {
			first = append(first, id)
		}
		excluded[id] = watermark
	}
	return first, s.reloadExclusions()
}

// SetRacedHandler sets the handler told, after each write, of the pin ops that raced a
// collection they were excluded from (see ExcludeMember). It runs on the writer's goroutine
// with the write lock held: it must not block or write to the store.
func (s *Store) SetRacedHandler(f func([]crdt.Op)) {
	s.writeMu.Lock()
	s.onRaced = f
	s.writeMu.Unlock()
}

// reloadExclusions refreshes the cache from the store; callers hold writeMu.
func (s *Store) reloadExclusions() error {
	m, err := s.readExclusions()
	if err != nil {
		return err
	}
	s.exclusions.Store(&m)
	return nil
}

// racesCollection: op is a pin of an excluded origin, not after the watermark it was excluded
// at (by rank: a repin it made of an older record may have raced a deletion, however fresh
// its clock). Called under writeMu.
func (s *Store) racesCollection(op crdt.Op) bool {
	if op.Kind != crdt.OpPin {
		return false
	}
	m := s.exclusions.Load()
	if m == nil {
		if err := s.reloadExclusions(); err != nil {
			s.log.Warn("persistence: reading exclusions", "err", err)
			return false
		}
		m = s.exclusions.Load()
	}
	w, ok := (*m)[op.Origin]
	return ok && op.Rank().Base <= w // a conditional op is as old as the record it was made from
}

// reportRaced hands the raced pins of the write that ends to the handler. Called under writeMu.
func (s *Store) reportRaced() {
	raced := s.raced
	s.raced = nil
	if len(raced) > 0 && s.onRaced != nil {
		s.onRaced(raced)
	}
}

// Exclusions returns each member excluded from a collection and the watermark of the last.
func (s *Store) Exclusions() (map[peer.ID]crdt.HLC, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	return s.readExclusions()
}

// readExclusions is Exclusions for a caller inside the gate (a write reloading the cache: a
// nested enter would fail once Close began, and a raced pin would go unreported).
func (s *Store) readExclusions() (map[peer.ID]crdt.HLC, error) {
	out := map[peer.ID]crdt.HLC{}
	err := s.scanU64(prefixExcluded, func(id peer.ID, v uint64) { out[id] = crdt.HLC(v) })
	if err != nil {
		return nil, fmt.Errorf("persistence: exclusions: %w", err)
	}
	return out, nil
}

// Removed returns the peers removed with peers rm and the seq up to which their ops stay valid.
func (s *Store) Removed() (map[peer.ID]uint64, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	out := map[peer.ID]uint64{}
	err := s.scanU64(prefixRemoved, func(id peer.ID, v uint64) { out[id] = v })
	if err != nil {
		return nil, fmt.Errorf("persistence: removed peers: %w", err)
	}
	return out, nil
}

// Members returns every member and when it was last heard from. The set is small (one entry
// per peer of the cluster), so it is returned whole.
func (s *Store) Members() (map[peer.ID]time.Time, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	out := map[peer.ID]time.Time{}
	err := s.scanU64(prefixMember, func(id peer.ID, v uint64) { out[id] = time.Unix(0, int64(v)) })
	if err != nil {
		return nil, fmt.Errorf("persistence: members: %w", err)
	}
	return out, nil
}

// scanU64 calls fn for each <prefix><peer ID> key and its 8-byte value.
func (s *Store) scanU64(prefix []byte, fn func(peer.ID, uint64)) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			id := peer.ID(item.KeyCopy(nil)[len(prefix):])
			err := item.Value(func(v []byte) error {
				n, err := decU64(v)
				fn(id, n)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// DropAfterCutoff removes the records whose winning op is origin's with a seq after cutoff: ops
// of a removed peer that this peer applied before it learned of the removal (the peers that
// knew refused them). It returns the removed records. It scans the pinset, which is fine for
// an event as rare as a removal.
func (s *Store) DropAfterCutoff(ctx context.Context, origin peer.ID, cutoff uint64) ([]Record, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var victims [][]byte
	var removed []Record
	err := s.db.View(func(txn *badger.Txn) error {
		return iterateTxn(ctx, txn, prefixPin, prefixPin, func(key, v []byte) error {
			h, err := decodeRecord(v)
			if err != nil {
				return err
			}
			if peer.ID(h.origin) != origin || h.seq <= cutoff {
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
	if err != nil {
		return nil, fmt.Errorf("persistence: records of a removed peer: %w", err)
	}
	if err := s.deleteRecordsChunked(victims, removed); err != nil {
		return nil, fmt.Errorf("persistence: records of a removed peer: %w", err)
	}
	return removed, nil
}
