package persistence

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// OwnDigestEpoch is this peer's status digest epoch, 0 when the store has none yet (it chooses
// none: state commands read it, they do not publish).
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

// RetireOwnDigest moves this peer's own status digest to a new epoch when its epoch is epoch,
// and reports whether it did. The entries and the seq stay: the other peers' replicas drop
// their copy for the new epoch and pull the whole digest (a heartbeat at the seq shows them
// behind), and the reconcile at start publishes whatever the state forgot as deltas after the
// seq, which the entries' seqs (all at or below it) never outrank.
//
// Why: the replicas know this peer's digest by epoch and seq, and take a delta at a seq they
// hold for one they have. A state moved back from a backup of the epoch they hold would
// publish again at seqs they passed: its changes would be dropped, or lose to entries of
// higher seqs from the life it forgot, and global status would show them wrong until each
// changed again. Decision: a new epoch over the same entries rather than an empty digest, so
// that the others show this peer as behind (a pull under way) while they catch up, never its
// pins as queued; and one transaction, so that a crash leaves either epoch whole.
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
	var next uint64
	err := s.update(func(txn *badger.Txn) error {
		cur, seq, err := getOwnVersion(txn)
		if err != nil || cur != epoch {
			return err
		}
		if next, err = newEpoch(epoch); err != nil {
			return err
		}
		return txn.Set(keyOwnDigestVer, ownVersionValue(next, seq))
	})
	if err != nil {
		return false, fmt.Errorf("persistence: retiring status digest epoch %d: %w", epoch, err)
	}
	if next == 0 {
		return false, nil
	}
	s.log.Info("persistence: this state's status digest epoch was moved away before (a backup moved back); its digest starts a new epoch, which the other peers pull whole",
		"retired_epoch", epoch, "epoch", next)
	return true, nil
}
