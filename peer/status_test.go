package peer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/ipfs/fake"
)

// unfetchable is an IPFS backend on which every pin waits for blocks that never come (until
// its context ends); it records how many pins ran at once.
type unfetchable struct {
	*fake.Backend
	mu            sync.Mutex
	running, peak int
}

func (u *unfetchable) Pin(ctx context.Context, _ api.Cid, _ api.PinMode, _ ipfs.PinProgress) error {
	u.mu.Lock()
	u.running++
	u.peak = max(u.peak, u.running)
	u.mu.Unlock()
	<-ctx.Done()
	u.mu.Lock()
	u.running--
	u.mu.Unlock()
	return ctx.Err()
}

func (u *unfetchable) resetPeak() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.peak = u.running
}

// Unfetchable pins show under `status --filter error` with the error and the attempt count once
// their attempts failed, and `recover` retries them all at once rather than one pin_timeout
// after another.
func TestUnfetchablePinsShowAsErrorsAndRecoverTogether(t *testing.T) {
	dir := t.TempDir()
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.IPFS.PinTimeout = config.Duration(300 * time.Millisecond)
	cfg.Tracker.PriorityPinMaxRetries = 1
	backend := &unfetchable{Backend: fake.New()}
	p, err := New(context.Background(), dir, cfg, ident, Options{Backend: backend, NoREST: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	ctx := context.Background()
	const n = 4
	want := map[string]bool{}
	for i := range n {
		c := testCid(t, fmt.Sprintf("unfetchable-%d", i))
		want[c.String()] = true
		if _, err := p.Pin(ctx, c, api.PinOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	errorsListed := func() (map[string]api.PinInfoShort, error) {
		got := map[string]api.PinInfoShort{}
		err := p.StatusAll(ctx, api.TrackerStatusError, true, nil, func(g api.GlobalPinInfo) error {
			got[g.Cid.String()] = g.PeerMap[p.PeerID().String()]
			return nil
		})
		return got, err
	}
	waitFor(t, "every unfetchable pin under --filter error", func() bool {
		got, err := errorsListed()
		return err == nil && len(got) == n
	})
	got, _ := errorsListed()
	for c, s := range got {
		if !want[c] || s.Status != api.TrackerStatusPinError || s.AttemptCount != 1 ||
			s.Error != "pin timed out: no block received for 300ms" {
			t.Fatalf("%s: %+v", c, s)
		}
	}

	backend.resetPeak()
	start := time.Now()
	outcomes := 0
	err = p.RecoverAll(ctx, true, func(g api.GlobalPinInfo) error {
		s := g.PeerMap[p.PeerID().String()]
		if s.Status != api.TrackerStatusPinError || s.AttemptCount != 2 || !strings.Contains(s.Error, "pin timed out") {
			t.Errorf("recover outcome of %s: %+v", g.Cid, s)
		}
		outcomes++
		return nil
	})
	if err != nil || outcomes != n {
		t.Fatalf("recover all: %d outcomes, %v", outcomes, err)
	}
	backend.mu.Lock()
	peak := backend.peak
	backend.mu.Unlock()
	if peak < 2 {
		t.Fatalf("recover ran at most %d pin at once (took %s): the %d pins were retried one after another", peak, time.Since(start), n)
	}
}
