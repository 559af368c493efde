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

	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/persistence"
)

// OwnFloorFile, in the config directory, says how far a peer's own ops went in a state that
// was moved away: "<peer ID> <seq>\n".
//
// The other peers know an op by its origin and seq, and drop one whose seq they hold as seen.
// A peer whose state was cleaned numbered from 1 again: its new ops, and those of a `state
// import` into the new state, were dropped by the others (measured: 5 pins imported on one of
// 3 peers after `state cleanup`, on that peer only, for good), as were those of a state moved
// back from an older backup. Backup writes this file before it moves the state; every opening
// of the store (the daemon's, the state commands') raises the own numbering to it
// (persistence.Store.SetOwnFloor), which also leaves the ops below it to be pulled back from
// the others. It is kept (the floor only moves up) and ignored under another identity.
const OwnFloorFile = "own-seq"

// recordOwnFloor writes OwnFloorFile from dir's state, keeping a higher floor already written.
func recordOwnFloor(dir string) error {
	ident, err := identity.Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a peer needs a new identity to run from dir: its ops will be another origin's
	}
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	s, err := persistence.Open(persistence.Options{Dir: PinsetDir(dir)})
	if err != nil {
		return fmt.Errorf("reading this peer's last op number from its state (moved all the same; a new state numbers its ops from 1, see docs/deploy.md): %w", err)
	}
	floor, err := s.OwnHistory(ident.ID)
	if err = errors.Join(err, s.Close()); err != nil {
		return err
	}
	if prev, err := readOwnFloor(dir, ident.ID); err == nil && prev > floor {
		floor = prev
	}
	if floor == 0 {
		return nil
	}
	tmp := filepath.Join(dir, OwnFloorFile+".tmp")
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%s %d\n", ident.ID, floor), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, OwnFloorFile))
}

// readOwnFloor returns the floor OwnFloorFile records for self (0: no file, or another peer's).
func readOwnFloor(dir string, self libp2ppeer.ID) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, OwnFloorFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	id, seq, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !ok {
		return 0, fmt.Errorf("%s: not \"<peer ID> <seq>\"", filepath.Join(dir, OwnFloorFile))
	}
	if id != self.String() {
		return 0, nil
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Join(dir, OwnFloorFile), err)
	}
	return n, nil
}

// ApplyOwnFloor raises s's own numbering to the floor dir's OwnFloorFile records for self.
func ApplyOwnFloor(dir string, s *persistence.Store, self libp2ppeer.ID) error {
	floor, err := readOwnFloor(dir, self)
	if err != nil {
		return err
	}
	return s.SetOwnFloor(self, floor)
}
