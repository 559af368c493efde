package persistence

import (
	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"
)

// OwnHistory is how far a peer's own ops went in a store: the highest seq it numbered and
// the highest it published. A new store of the same peer (after `state cleanup`) starts from
// it with SetOwnFloor.
func (s *Store) OwnHistory(self peer.ID) (uint64, error) {
	last, err := s.LastSeq(self)
	if err != nil {
		return 0, err
	}
	pub, err := s.Published(self)
	return max(last, pub), err
}

// SetOwnFloor makes self's numbering continue after floor: LastSeq and Published become at
// least floor, while the version vector entry stays where it is, so the ops up to floor
// count as missing and are pulled back from the other peers (persistence.Apply stores an
// op between the vector's entry and LastSeq unless the log has it).
//
// Why: the other peers know an op by its origin and seq. A peer whose state was cleaned and
// that numbered from 1 again had its new ops (and a `state import`'s) taken by the others for
// ones they already held and dropped: the imported pins never reached them, nor did new pins
// until it had pulled its old ops back (measured: 5 imported pins on one of 3 peers, on that
// peer only, for good).
func (s *Store) SetOwnFloor(self peer.ID, floor uint64) error {
	if floor == 0 {
		return nil
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	delete(s.origins, self) // l/ changes here: read it again after
	return s.update(func(txn *badger.Txn) error {
		for _, key := range [][]byte{originKey(prefixLast, self), originKey(prefixPublished, self)} {
			cur, err := getU64(txn, key)
			if err != nil {
				return err
			}
			if floor > cur {
				if err := txn.Set(key, encU64(floor)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
