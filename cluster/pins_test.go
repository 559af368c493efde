package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// Bad options and full queues are refused before anything is allocated or stored.
func TestPinRefusesBeforeStoring(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	c := testCid(t, "p")
	if _, err := w.svc.Pin(ctx, c, api.PinOptions{ReplicationFactorMin: 3, ReplicationFactorMax: 2}); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("min > max: %v", err)
	}
	full := fmt.Errorf("%w: %w (test)", api.ErrUnavailable, api.ErrQueueFull)
	w.svc.PinService.d.Gates = []Gate{gate{}, gate{full}}
	if _, err := w.svc.Pin(ctx, c, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1}); !errors.Is(err, api.ErrQueueFull) {
		t.Fatalf("full gate: %v", err)
	}
	if len(w.commits.changes) != 0 || w.alloc.calls != 0 {
		t.Fatalf("refused pins stored %d changes, allocated %d times", len(w.commits.changes), w.alloc.calls)
	}
}

// Replication -1 (the default here) pins everywhere without asking the allocator; a factor
// asks it; a pin update keeps the options and allocations of the pin it updates.
func TestPinAllocationAndUpdate(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a := testCid(t, "a")
	p, err := w.svc.Pin(ctx, a, api.PinOptions{Name: "a"})
	if err != nil || len(p.Allocations) != 0 || w.alloc.calls != 0 {
		t.Fatalf("everywhere: %+v, %v, %d allocations asked", p, err, w.alloc.calls)
	}
	other := testPeer(t)
	w.alloc.peers = []peer.ID{other}
	b := testCid(t, "b")
	if p, err = w.svc.Pin(ctx, b, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1, Metadata: map[string]string{"x": "1"}}); err != nil || len(p.Allocations) != 1 {
		t.Fatalf("factor 1: %+v, %v", p, err)
	}
	u := testCid(t, "u")
	if p, err = w.svc.Pin(ctx, u, api.PinOptions{PinUpdate: b, Name: "u"}); err != nil {
		t.Fatal(err)
	}
	if p.Name != "u" || p.Metadata["x"] != "1" || p.ReplicationFactorMin != 1 || len(p.Allocations) != 1 {
		t.Fatalf("update: %+v", p)
	}
	if _, err := w.svc.Pin(ctx, u, api.PinOptions{PinUpdate: testCid(t, "absent")}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("update of an absent pin: %v", err)
	}
	if _, err := w.svc.Unpin(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Unpin(ctx, a); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("second unpin: %v", err)
	}
	if last := w.commits.changes[len(w.commits.changes)-1]; last.Kind != crdt.OpUnpin {
		t.Fatalf("last change %+v", last)
	}
	var n int
	if err := w.svc.PinsJSON(ctx, func([]byte) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("listing: %d pins, %v", n, err)
	}
}
