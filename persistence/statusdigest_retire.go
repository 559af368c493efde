package persistence

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// OwnDigestEpoch is this peer's status digest epoch, 0 when the store has none yet (it chooses
// none: state commands record it, they do not publish).
func (s *Store) OwnDigestEpoch() (uint64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	var epoch uint64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		epoch, _, err = getOwnVersion(txn)
		return err
	})
	return epoch, err
}

// RetireOwnDigest drops this peer's own status digest (its entries and its version) when its
// epoch is epoch, and reports whether it did: the next OwnDigestVersion chooses a new epoch,
// and the status digest actor's reconcile at start writes the entries again from the tracker.
//
// Why: the other peers' replicas know this peer's digest by epoch and seq, and take a delta at
// a seq they hold for one they have. A state moved back from a backup of the epoch they hold
// would publish again at seqs they passed: its changes would be dropped, or lose to entries
// of higher seqs from the life it forgot, and global status would show them wrong until each
// changed again. A new epoch makes every replica drop its copy and pull the whole digest.
// The entries go first and the version last, so an interrupted retirement is done again at
// the next opening (the epoch is still the retired one).
func (s *Store) RetireOwnDigest(epoch uint64) (bool, error) {
	if epoch == 0 {
		return false, nil
	}
	if err := s.enter(); err != nil {
		return false, err
	}
	defer s.leave()
	s.ownDigestMu.Lock()
	defer s.ownDigestMu.Unlock()
	var cur uint64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		cur, _, err = getOwnVersion(txn)
		return err
	})
	if err != nil || cur != epoch {
		return false, err
	}
	if err := s.db.DropPrefix(prefixOwnDigest); err != nil {
		return false, fmt.Errorf("persistence: retiring status digest epoch %d: %w", epoch, err)
	}
	if err := s.update(func(txn *badger.Txn) error { return txn.Delete(keyOwnDigestVer) }); err != nil {
		return false, fmt.Errorf("persistence: retiring status digest epoch %d: %w", epoch, err)
	}
	s.log.Info("persistence: this state's status digest epoch was moved away before (a backup moved back); its digest starts a new epoch, which the other peers pull whole",
		"retired_epoch", epoch)
	return true, nil
}
