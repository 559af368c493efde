package persistence

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/pincluster/pincluster/crdt"
)

// The collection watermark: the greatest clock of any tombstone this store has dropped
// (m/collected, 8 bytes). A member that was not counted when tombstones were collected
// (silent beyond absent_peer_horizon) is recorded as excluded at the watermark of then
// (members.go): its pins not after it may have raced deletions that no longer leave a trace.

var keyCollectedClock = []byte("m/collected")

// CollectedClock is the collection watermark (0 before any collection).
func (s *Store) CollectedClock() (crdt.HLC, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	var v uint64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		v, err = getU64(txn, keyCollectedClock)
		return err
	})
	return crdt.HLC(v), err
}

// raiseCollectedClock moves the watermark up to c (never down).
func (s *Store) raiseCollectedClock(c crdt.HLC) error {
	if c == 0 {
		return nil
	}
	return s.update(func(txn *badger.Txn) error {
		cur, err := getU64(txn, keyCollectedClock)
		if err != nil || uint64(c) <= cur {
			return err
		}
		return txn.Set(keyCollectedClock, encU64(uint64(c)))
	})
}
