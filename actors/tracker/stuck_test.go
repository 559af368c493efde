package tracker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/ipfs/fake"
)

// deafBackend's Pin and Unpin ignore their context (as an IPFS node blocked on a lock would)
// and return only when released.
type deafBackend struct {
	*fake.Backend
	release              chan struct{}
	pinCalls, unpinCalls atomic.Int32
}

func (d *deafBackend) Pin(context.Context, api.Cid, api.PinMode, ipfs.PinProgress) error {
	d.pinCalls.Add(1)
	<-d.release
	return errors.New("returned late")
}

func (d *deafBackend) Unpin(context.Context, api.Cid) error {
	d.unpinCalls.Add(1)
	<-d.release
	return errors.New("returned late")
}

func newDeafTracker(t *testing.T, cfg Config) (*Tracker, *deafBackend) {
	t.Helper()
	d := &deafBackend{Backend: fake.New(), release: make(chan struct{})}
	tr, err := New(quietSystem().Root, cfg, d, testQueue(t), selfID, "peer0", discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(d.release) // let the abandoned calls return before Stop waits for them
		tr.Stop()
	})
	return tr, d
}

// A pin whose IPFS call never returns (it ignores its cancellation) still fails each attempt
// at pin_timeout: it shows pin_error with the error and the attempt count, retries, and gives
// up after priority_pin_max_retries. It never stays "pinning" with no attempt in progress.
func TestUnresponsiveBackendStillFailsTheAttempt(t *testing.T) {
	cfg := testConfig()
	cfg.PinTimeout = 150 * time.Millisecond
	cfg.UnpinTimeout = 150 * time.Millisecond
	cfg.PriorityPinMaxRetries = 2
	tr, d := newDeafTracker(t, cfg)
	pin := testPin(t, "unfetchable")
	if err := tr.Track(ctx5s(t), pin); err != nil {
		t.Fatal(err)
	}
	var pi api.PinInfo
	waitFor(t, "attempts exhausted", func() (bool, string) {
		pi = status(t, tr, pin)
		return pi.AttemptCount == cfg.PriorityPinMaxRetries && pi.Status == api.TrackerStatusPinError,
			fmt.Sprintf("%s attempts=%d err=%q", pi.Status, pi.AttemptCount, pi.Error)
	})
	if pi.Error != "pin timed out: no block received for 150ms" {
		t.Fatalf("error %q", pi.Error)
	}
	if n := d.pinCalls.Load(); n != int32(cfg.PriorityPinMaxRetries) {
		t.Fatalf("%d pin calls, want one per attempt (%d)", n, cfg.PriorityPinMaxRetries)
	}
	waitFor(t, "slot freed", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	errored := 0
	if err := tr.InFlight(ctx5s(t), func(_ api.Cid, s api.PinInfoShort) error {
		if s.Status.Match(api.TrackerStatusError) {
			errored++
		}
		return nil
	}); err != nil || errored != 1 {
		t.Fatalf("in-flight errors: %d (%v), want 1", errored, err)
	}

	// The same for an unpin: unpin_error after unpin_timeout.
	if err := tr.Untrack(ctx5s(t), pin.Cid); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "unpin_error", func() (bool, string) {
		u, err := tr.StatusUnknown(ctx5s(t), pin.Cid)
		if err != nil {
			t.Fatal(err)
		}
		return u.Status == api.TrackerStatusUnpinError && strings.Contains(u.Error, "unpin timed out after 150ms"),
			fmt.Sprintf("%s %q", u.Status, u.Error)
	})
}

// Recover of a pin waiting for its retry backoff retries now instead of after the backoff, and
// RecoverAll does the same for every such pin.
func TestRecoverEndsTheBackoff(t *testing.T) {
	cfg := testConfig()
	cfg.RetryBackoffMin = time.Hour // the automatic retry never comes during the test
	cfg.RetryBackoffMax = time.Hour
	tr, b := newTestTracker(t, cfg)
	one, two := testPin(t, "backoff-1"), testPin(t, "backoff-2")
	for _, p := range []api.Pin{one, two} {
		b.FailPinTimes(p.Cid, 1, errors.New("no providers yet"))
		if err := tr.Track(ctx5s(t), p); err != nil {
			t.Fatal(err)
		}
		pi := waitStatus(t, tr, p, api.TrackerStatusPinError)
		if pi.AttemptCount != 1 || !strings.Contains(pi.Error, "no providers yet") {
			t.Fatalf("waiting for the backoff: %+v", pi.PinInfoShort)
		}
	}
	pi, err := tr.Recover(ctx5s(t), one)
	if err != nil || pi.Status != api.TrackerStatusPinned {
		t.Fatalf("recover during the backoff: %+v %v", pi.PinInfoShort, err)
	}
	n, err := tr.RecoverAll(ctx5s(t))
	if err != nil || n != 1 {
		t.Fatalf("recover all: %d %v, want 1", n, err)
	}
	waitStatus(t, tr, two, api.TrackerStatusPinned)
	if b.PinCalls(one.Cid) != 2 || b.PinCalls(two.Cid) != 2 {
		t.Fatalf("pin calls %d and %d, want 2 each", b.PinCalls(one.Cid), b.PinCalls(two.Cid))
	}
}
