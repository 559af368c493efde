package statusdigest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/internal/passgate"
)

// TestPullWaitsForTheGate: a whole-digest pull takes its turn at the gate for bulk transfers;
// while a snapshot load holds it the pull touches neither the store nor the network (both nil here:
// any use would panic) and gives up with its context.
func TestPullWaitsForTheGate(t *testing.T) {
	gate := passgate.New()
	leave, err := gate.Enter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer leave()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := pullFrom(ctx, Deps{Transfers: gate}, peer.ID("p")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("pull while the gate was held: %v, want the context's deadline", err)
	}
}
