package offlinestate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/internal/atomicfile"
	"github.com/pincluster/pincluster/persistence"
)

// OwnDigestEpochFile, in the config directory, names the status digest epoch of the last
// state moved away: "<peer ID> <epoch>\n".
//
// The other peers' replicas of this peer's status digest know it by epoch and seq. A state
// moved back from a backup (docs/deploy.md) holds an epoch they know at a seq they passed:
// its next deltas would be taken for ones already applied, and global status would show
// this peer's old statuses. Backup records the epoch when it moves the state; the daemon
// started on a store whose own digest is of that epoch moves the digest to a new epoch over
// the same entries (RetireMovedDigest, persistence.Store.RetireOwnDigest), which the others
// pull whole. A new store (after a cleanup, an import) has a new epoch anyway. The file is
// kept: moving back any backup of that epoch, later, is a rollback too.
const OwnDigestEpochFile = "own-digest-epoch"

// recordDigestEpoch writes OwnDigestEpochFile for self's epoch (none for 0: a store that never
// published, which no replica knows).
func recordDigestEpoch(dir string, self libp2ppeer.ID, epoch uint64) error {
	if epoch == 0 {
		return nil
	}
	path := filepath.Join(dir, OwnDigestEpochFile)
	if err := atomicfile.Write(path, fmt.Appendf(nil, "%s %d\n", self, epoch), 0o600); err != nil {
		return fmt.Errorf("recording this peer's status digest epoch in %s: %w", path, err)
	}
	return nil
}

// RetireMovedDigest moves s's own status digest to a new epoch when OwnDigestEpochFile names
// its epoch for self (persistence.Store.RetireOwnDigest), as the daemon does at start; the state
// commands leave it to the daemon, which logs it. Another identity's record is not this peer's.
// A damaged record cannot tell: the digest is retired all the same (it costs the others a
// whole pull, never a wrong status) and the record removed.
func RetireMovedDigest(dir string, s *persistence.Store, self libp2ppeer.ID) error {
	path := filepath.Join(dir, OwnDigestEpochFile)
	epoch, err := readPeerNumber(path, self, "epoch")
	if errors.Is(err, errBadRecord) {
		if epoch, err = s.OwnDigestEpoch(); err != nil {
			return err
		}
		if _, err := s.RetireOwnDigest(epoch); err != nil {
			return err
		}
		return os.Remove(path)
	}
	if err != nil || epoch == 0 {
		return err
	}
	_, err = s.RetireOwnDigest(epoch)
	return err
}
