package offlinestate

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/persistence"
	"github.com/pincluster/pincluster/statusdigest"
)

// withStore opens dir's store as the daemon does (ApplyOwnFloor first) and runs f on it.
func withStore(t *testing.T, dir string, f func(*persistence.Store)) {
	t.Helper()
	ident, err := identity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := persistence.Open(persistence.Options{Dir: PinsetDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := ApplyOwnFloor(dir, s, ident.ID); err != nil {
		t.Fatal(err)
	}
	f(s)
}

// publishOwn stores a status of one CID in dir's own status digest and returns its epoch.
func publishOwn(t *testing.T, dir, name string) (epoch uint64) {
	t.Helper()
	withStore(t, dir, func(s *persistence.Store) {
		e := statusdigest.Entry{Cid: testCid(t, name).Bytes(), Status: api.TrackerStatusPinned, TS: time.Now().UTC()}
		d, err := s.WriteOwnDigest([]statusdigest.Entry{e}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		epoch = d.Epoch
	})
	return epoch
}

// ownDigest returns dir's own digest epoch and entry count, opened as the daemon does.
func ownDigest(t *testing.T, dir string) (epoch uint64, entries int) {
	t.Helper()
	ident, err := identity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	withStore(t, dir, func(s *persistence.Store) {
		if err := RetireMovedDigest(dir, s, ident.ID); err != nil {
			t.Fatal(err)
		}
		if epoch, err = s.OwnDigestEpoch(); err != nil {
			t.Fatal(err)
		}
		if err := s.OwnDigestEach(t.Context(), func(statusdigest.Entry) error { entries++; return nil }); err != nil {
			t.Fatal(err)
		}
	})
	return epoch, entries
}

// A backup moved back after `state cleanup` (docs/deploy.md) holds the status digest epoch the
// other peers' replicas hold, at a seq they passed: the daemon's opening moves it to a new
// epoch over the same entries, once, and under this identity only.
func TestMovedBackStateStartsANewDigestEpoch(t *testing.T) {
	dir := t.TempDir()
	initDir(t, dir)
	importN(t, dir, "a", 2)
	touchMember(t, dir, otherMember)
	epoch := publishOwn(t, dir, "a0")
	first, err := Cleanup(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ident, err := identity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(dir, OwnDigestEpochFile)
	if b, err := os.ReadFile(record); err != nil || string(b) != fmt.Sprintf("%s %d\n", ident.ID, epoch) {
		t.Fatalf("%s: %q %v, want epoch %d", OwnDigestEpochFile, b, err, epoch)
	}
	importN(t, dir, "b", 1) // a new state: no digest yet, so nothing to record at its cleanup
	cleanup(t, dir)
	if err := os.Rename(first, PinsetDir(dir)); err != nil {
		t.Fatal(err)
	}
	// A state command leaves it to the daemon.
	withStore(t, dir, func(s *persistence.Store) {
		if e, err := s.OwnDigestEpoch(); e != epoch || err != nil {
			t.Fatalf("a state command's opening: epoch %d %v, want %d kept", e, err, epoch)
		}
	})
	next, n := ownDigest(t, dir)
	if next == epoch || next == 0 || n != 1 {
		t.Fatalf("moved back: own digest epoch %d with %d entries, want a new epoch over the 1 entry (epoch %d retired)", next, n, epoch)
	}
	if e, n := ownDigest(t, dir); e != next || n != 1 {
		t.Fatalf("reopened: own digest epoch %d with %d entries, want %d with 1", e, n, next)
	}
	// Another identity's record is not this peer's.
	if err := os.WriteFile(record, fmt.Appendf(nil, "%s %d\n", otherMember, next), 0o600); err != nil {
		t.Fatal(err)
	}
	if e, n := ownDigest(t, dir); e != next || n != 1 {
		t.Fatalf("another identity's record: own digest epoch %d with %d entries, want %d with 1", e, n, next)
	}
	// A damaged record cannot tell: the digest is retired all the same, and the record removed.
	if err := os.WriteFile(record, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if e, n := ownDigest(t, dir); e == next || e == 0 || n != 1 {
		t.Fatalf("a damaged record: own digest epoch %d with %d entries, want a new one over the 1 entry", e, n)
	}
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Fatalf("the damaged record was kept: %v", err)
	}
}
