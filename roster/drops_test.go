package roster

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/persistence"
)

// dropper is a pinset whose DropAfterCutoff fails the first fails calls.
type dropper struct {
	mu    sync.Mutex
	fails int
	calls []uint64
	done  chan struct{}
}

func (d *dropper) DropAfterCutoff(_ context.Context, _ peer.ID, cutoff uint64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, cutoff)
	if len(d.calls) <= d.fails {
		return 0, errors.New("disk trouble")
	}
	close(d.done)
	return 1, nil
}

// A removal whose drop of later ops did not happen (a failure, a stop) is redone: tried again
// after a failure, and at the next start, until it is recorded done.
func TestDropsOfRemovedPeersAreResumed(t *testing.T) {
	defer func(d time.Duration) { dropRetry = d }(dropRetry)
	dropRetry = 10 * time.Millisecond
	store, err := persistence.Open(persistence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	self, gone := peer.ID("self"), peer.ID("gone")
	// Removed before a stop that cut its drop: only mr/ is stored.
	if err := store.RemoveMember(gone, 7); err != nil {
		t.Fatal(err)
	}
	if p, _ := store.PendingDrops(); p[gone] != 7 {
		t.Fatalf("pending %v, want gone at 7", p)
	}
	r, err := New(Config{Self: self, TrustedPeers: []string{"*"}}, nil, store, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	d := &dropper{fails: 1, done: make(chan struct{})}
	r.Attach(Actors{Pinset: d})
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the pending drop was not redone after its failure")
	}
	r.Close()
	if len(d.calls) != 2 || d.calls[0] != 7 || d.calls[1] != 7 {
		t.Fatalf("drops %v, want two at cutoff 7", d.calls)
	}
	if p, _ := store.PendingDrops(); len(p) != 0 {
		t.Fatalf("still pending after the drop: %v", p)
	}
	// A later start does not drop again.
	r2, err := New(Config{Self: self, TrustedPeers: []string{"*"}}, nil, store, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	d2 := &dropper{done: make(chan struct{})}
	r2.Attach(Actors{Pinset: d2})
	r2.Close()
	if len(d2.calls) != 0 {
		t.Fatalf("a done drop was redone: %v", d2.calls)
	}
	// A higher cutoff learned later makes it pending again.
	if err := store.RemoveMember(gone, 9); err != nil {
		t.Fatal(err)
	}
	if p, _ := store.PendingDrops(); p[gone] != 9 {
		t.Fatalf("pending %v after a higher cutoff, want 9", p)
	}
}
