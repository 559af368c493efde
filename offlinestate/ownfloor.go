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

// A peer whose ops nobody else holds needs no floor: a peer that never had another peer (its
// store records no member but removed ones, and its peerstore file names no other peer), and
// whose store is not still waiting for its old ops (its version vector's own entry has
// reached the floor it was opened with). The file is then removed: a floor nobody can fill
// would keep that entry below it for good, and this peer's later ops would never count as
// held (their tombstones never collected). The peerstore counts because the store records
// trusted members only: the followers of a cluster with one trusted writer hold its ops and
// are in no member record (review: without it, such a writer cleaned numbered from 1 again
// and its followers dropped its new pins). Any doubt keeps the floor: a floor too many costs
// tombstones kept, one too few loses pins.

// errUnreadable wraps why a state's history could not be read: Backup moves it all the same
// (an unreadable state is a reason to clean it up).
type errUnreadable struct{ err error }

func (e errUnreadable) Error() string { return e.err.Error() }
func (e errUnreadable) Unwrap() error { return e.err }

// recordOwnFloor writes OwnFloorFile from dir's state, keeping a higher floor already written,
// or removes it when no other peer holds this peer's ops. It returns how many of the own ops
// were never broadcast (they may not have reached the others).
func recordOwnFloor(dir string) (unsent uint64, err error) {
	ident, err := identity.Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // a peer needs a new identity to run from dir: its ops will be another origin's
	}
	if err != nil {
		return 0, errUnreadable{fmt.Errorf("identity: %w", err)}
	}
	prev, perr := readOwnFloor(dir, ident.ID) // a damaged file is replaced
	s, err := openStore(dir)
	if err != nil {
		return 0, errUnreadable{err}
	}
	h, err := readHistory(s, ident.ID)
	if err = errors.Join(err, s.Close()); err != nil {
		return 0, errUnreadable{err}
	}
	if !h.shared {
		if h.shared, err = peerstoreNamesOthers(dir, ident.ID); err != nil {
			h.shared = true
		}
	}
	path := filepath.Join(dir, OwnFloorFile)
	if !h.shared && (perr != nil || prev <= h.applied) {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
		return 0, recordDigestEpoch(dir, ident.ID, h.digestEpoch)
	}
	floor := max(h.last, h.published)
	if perr == nil {
		floor = max(floor, prev)
	}
	if h.published < h.last {
		unsent = h.last - h.published
	}
	if floor > 0 {
		if err := atomicfile.Write(path, fmt.Appendf(nil, "%s %d\n", ident.ID, floor), 0o600); err != nil {
			return 0, fmt.Errorf("recording this peer's last op number (%d) in %s: %w", floor, path, err)
		}
	}
	if err := recordDigestEpoch(dir, ident.ID, h.digestEpoch); err != nil { // last: a failure above leaves the state as it was
		return 0, err
	}
	return unsent, nil
}

// history is what a store says of its own peer's ops.
type history struct {
	last, published, applied uint64
	shared                   bool   // another member (not removed) may hold them
	digestEpoch              uint64 // its status digest's (0: none)
}

func readHistory(s *persistence.Store, self libp2ppeer.ID) (h history, err error) {
	if h.last, err = s.LastSeq(self); err != nil {
		return h, err
	}
	if h.published, err = s.Published(self); err != nil {
		return h, err
	}
	if h.applied, err = s.Applied(self); err != nil {
		return h, err
	}
	if h.digestEpoch, err = s.OwnDigestEpoch(); err != nil {
		return h, err
	}
	members, err := s.Members()
	if err != nil {
		return h, err
	}
	removed, err := s.Removed()
	if err != nil {
		return h, err
	}
	for id := range members {
		if _, gone := removed[id]; id != self && !gone {
			h.shared = true
		}
	}
	return h, nil
}

// readOwnFloor returns the floor OwnFloorFile records for self (0: no file, or another peer's).
func readOwnFloor(dir string, self libp2ppeer.ID) (uint64, error) {
	return readPeerNumber(filepath.Join(dir, OwnFloorFile), self, "seq")
}

// readPeerNumber reads a "<peer ID> <number>" file (OwnFloorFile, OwnDigestEpochFile): 0 when
// there is none or it names another peer. what names the number in the error of a bad file.
func readPeerNumber(path string, self libp2ppeer.ID, what string) (uint64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	id, num, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !ok {
		return 0, fmt.Errorf("%s: %w: not \"<peer ID> <%s>\"", path, errBadRecord, what)
	}
	if id != self.String() {
		return 0, nil
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %w", path, errBadRecord, err)
	}
	return n, nil
}

// errBadRecord is a "<peer ID> <number>" file that does not say that.
var errBadRecord = errors.New("damaged record")

// ApplyOwnFloor raises s's own numbering to the floor dir's OwnFloorFile records for self.
func ApplyOwnFloor(dir string, s *persistence.Store, self libp2ppeer.ID) error {
	floor, err := readOwnFloor(dir, self)
	if err != nil {
		return err
	}
	return s.SetOwnFloor(self, floor)
}

// peerstoreFile is peer.PeerstoreFile (peer imports this package): the known peers' addresses,
// one per line, kept by the daemon.
const peerstoreFile = "peerstore"

// peerstoreNamesOthers reports whether dir's peerstore file names a peer other than self.
func peerstoreNamesOthers(dir string, self libp2ppeer.ID) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, peerstoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		info, err := libp2ppeer.AddrInfoFromString(line) // as the daemon's loader reads it
		if err != nil || info.ID != self {
			return true, nil // another peer, or an address that does not say: another
		}
	}
	return false, nil
}
