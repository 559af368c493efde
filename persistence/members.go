package persistence

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Members: the durable set of trusted peers this peer has synced with, and when it last heard
// from each. Tombstone collection waits for every member's acknowledgement, not only for the
// peers that happen to be connected, so a member that is partitioned, stopped or killed keeps
// the tombstones it has not seen; a member silent for longer than the configured horizon stops
// counting (it rejoins through a snapshot). `peers rm` removes a member.
//
//	mb/<peer ID>   last heard from (unix nanoseconds, 8 bytes)

var prefixMember = []byte("mb/")

// TouchMember records that id was heard from at at (never moving the time backwards).
func (s *Store) TouchMember(id peer.ID, at time.Time) error {
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

// RemoveMember forgets a member (peers rm).
func (s *Store) RemoveMember(id peer.ID) error {
	return s.update(func(txn *badger.Txn) error {
		err := txn.Delete(originKey(prefixMember, id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	})
}

// Members returns every member and when it was last heard from. The set is small (one entry
// per peer of the cluster), so it is returned whole.
func (s *Store) Members() (map[peer.ID]time.Time, error) {
	out := map[peer.ID]time.Time{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixMember, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			id := peer.ID(k[len(prefixMember):])
			err := item.Value(func(v []byte) error {
				n, err := decU64(v)
				out[id] = time.Unix(0, int64(n))
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("persistence: members: %w", err)
	}
	return out, nil
}
