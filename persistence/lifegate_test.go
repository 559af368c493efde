package persistence

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/poll"
)

// isClosing reports whether Close has shut the gate (tests wait on it).
func (g *lifeGate) isClosing() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closing
}

func waitClosing(t *testing.T, s *Store) {
	t.Helper()
	if !poll.Until(10*time.Second, time.Millisecond, s.gate.isClosing) {
		t.Error("Close did not start")
	}
}

// A reader looping while Close runs (a goroutine outliving its actor's Stop) gets ErrClosed
// instead of Badger's panic, and Close closes Badger once its call in flight is done.
func TestReadRacingClose(t *testing.T) {
	for round := 0; round < 20; round++ {
		s, err := Open(Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		readErr := make(chan error, 1)
		go func() {
			close(started)
			for {
				if _, err := s.QueuePage(0, 10); err != nil {
					readErr <- err
					return
				}
			}
		}()
		<-started
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		if err := <-readErr; !errors.Is(err, ErrClosed) || !errors.Is(err, api.ErrUnavailable) {
			t.Fatalf("round %d: reader after Close: %v, want ErrClosed (unavailable)", round, err)
		}
	}
}

// Close waits for an iteration in flight; a call nested in it once Close began fails with
// ErrClosed instead of deadlocking.
func TestCloseWaitsForIterator(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	for i := 1; i <= 3; i++ {
		mustApply(t, s, pinOp(t, p, uint64(i), crdt.HLC(i), mkCid(t, i), "x"))
	}
	inside := make(chan struct{})
	var returned atomic.Bool
	var nestedErr error
	iterErr := make(chan error, 1)
	go func() {
		first := true
		iterErr <- s.IteratePins(t.Context(), func(api.Pin) error {
			if first {
				first = false
				close(inside)
				waitClosing(t, s)
				_, _, nestedErr = s.Get(mkCid(t, 1))
			}
			return nil
		})
		returned.Store(true)
	}()
	<-inside
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-iterErr; err != nil {
		t.Fatalf("iteration in flight: %v", err)
	}
	if !errors.Is(nestedErr, ErrClosed) {
		t.Fatalf("nested call once Close began: %v, want ErrClosed", nestedErr)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
}

// A snapshot held past the timeout makes Close leave Badger open and say so; the snapshot
// still reads.
func TestCloseLeavesStoreOpenPastTimeout(t *testing.T) {
	defer func(d time.Duration) { closeTimeout = d }(closeTimeout)
	closeTimeout = 50 * time.Millisecond
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	c := mkCid(t, 1)
	mustApply(t, s, pinOp(t, p, 1, 1, c, "x"))
	sn := s.Snapshot()
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "1 calls still use") || !strings.Contains(err.Error(), "left open") {
		t.Fatalf("Close with a snapshot open: %v", err)
	}
	if _, found, err := sn.GetPins([]api.Cid{c}); err != nil || !found[0] {
		t.Fatalf("snapshot after Close gave up: found %v, err %v", found, err)
	}
	sn.Discard()
	sn.Discard()
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
	s.db.Close() // what the process exit does
}

// Calls nested inside the gate do not deadlock; after Close every call and view answers
// ErrClosed, and views are no-ops to release.
func TestGateNestedAndClosed(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	c := mkCid(t, 1)
	mustApply(t, s, pinOp(t, p, 1, 1, c, "x"))
	err := s.IteratePinsJSON(t.Context(), func(api.Cid, []byte) error {
		sn := s.Snapshot()
		defer sn.Discard()
		if _, found, err := sn.GetPins([]api.Cid{c}); err != nil || !found[0] {
			t.Errorf("nested snapshot: %v %v", found, err)
		}
		v := s.OpenDigestView()
		defer v.Close()
		if _, _, err := v.Lookup(p, c.Bytes()); err != nil {
			t.Errorf("nested digest view: %v", err)
		}
		_, err := s.VersionVector()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(c); !errors.Is(err, ErrClosed) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.Apply([]crdt.Op{pinOp(t, p, 2, 2, mkCid(t, 2), "y")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply: %v", err)
	}
	if _, _, err := s.GetPins([]api.Cid{c}); !errors.Is(err, ErrClosed) {
		t.Errorf("GetPins: %v", err)
	}
	if err := s.IterateTokens(t.Context(), "", func(api.TokenRecord) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("IterateTokens: %v", err)
	}
	if lsm, vlog := s.DiskSize(); lsm != 0 || vlog != 0 {
		t.Errorf("DiskSize: %d %d", lsm, vlog)
	}
	sn := s.Snapshot()
	if _, _, err := sn.GetPins([]api.Cid{c}); !errors.Is(err, ErrClosed) {
		t.Errorf("Snapshot.GetPins: %v", err)
	}
	sn.Discard()
	v := s.OpenDigestView()
	if _, _, err := v.Lookup(p, c.Bytes()); !errors.Is(err, ErrClosed) {
		t.Errorf("DigestView.Lookup: %v", err)
	}
	v.Close()
	v.Close()
}
