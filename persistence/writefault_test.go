package persistence

import (
	"errors"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/pincluster/pincluster/crdt"
)

// A write fault (an injected full disk) fails writes before anything is stored, and writes
// succeed again once it clears.
func TestWriteFaultFailsWritesAndClears(t *testing.T) {
	var full atomic.Bool
	full.Store(true)
	s, err := Open(Options{Dir: t.TempDir(), WriteFault: func() error {
		if full.Load() {
			return syscall.ENOSPC
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	origin := newPeer(t, 1)
	op := pinOp(t, origin, 1, 10, mkCid(t, 1), "a")
	if _, err := s.Apply([]crdt.Op{op}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("disk full: Apply = %v, want ENOSPC", err)
	}
	if err := s.SetPublished(origin, 1); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("disk full: SetPublished = %v, want ENOSPC", err)
	}
	if n, _ := s.CountPins(); n != 0 {
		t.Fatalf("a failed write stored %d pins", n)
	}
	if last, _ := s.LastSeq(origin); last != 0 {
		t.Fatalf("a failed write stored op seq %d", last)
	}
	full.Store(false)
	mustApply(t, s, op)
	if n, _ := s.CountPins(); n != 1 {
		t.Fatalf("after the fault cleared: %d pins, want 1", n)
	}
}
