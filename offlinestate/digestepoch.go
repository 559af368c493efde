package offlinestate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
// this peer's old statuses. Backup records the epoch before it moves the state; every
// opening of a store whose own digest is of that epoch drops the digest
// (persistence.Store.RetireOwnDigest), so the daemon publishes under a new epoch, which the
// others pull whole. A new store (after a cleanup, an import) has a new epoch anyway. The
// file is kept: moving back any backup of that epoch, later, is a rollback too.
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

// retireDigestEpoch retires s's own status digest when OwnDigestEpochFile names its epoch
// for self.
func retireDigestEpoch(dir string, s *persistence.Store, self libp2ppeer.ID) error {
	path := filepath.Join(dir, OwnDigestEpochFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	id, num, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !ok {
		return fmt.Errorf("%s: not \"<peer ID> <epoch>\"", path)
	}
	if id != self.String() {
		return nil // another identity's: this peer's replicas are under another name
	}
	epoch, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	_, err = s.RetireOwnDigest(epoch)
	return err
}
