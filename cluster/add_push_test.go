package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/blockpush"
	"github.com/pincluster/pincluster/statusdigest"
)

// rankAlloc allocates like the allocator: user allocations first, then its candidates in
// order, up to Max.
type rankAlloc struct{ candidates []peer.ID }

func (a rankAlloc) Allocate(_ context.Context, _ api.Cid, opts api.PinOptions, _ []peer.ID) ([]peer.ID, error) {
	out := slices.Clone(opts.UserAllocations)
	for _, p := range a.candidates {
		if len(out) >= opts.ReplicationFactorMax {
			break
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) < opts.ReplicationFactorMin {
		return nil, fmt.Errorf("%w: only %d peers", api.ErrUnavailable, len(out))
	}
	return out, nil
}

// failPusher fails the pushes to its bad peers and records the others.
type failPusher struct {
	bad    map[peer.ID]bool
	mu     sync.Mutex
	pushed []peer.ID
}

func (f *failPusher) NewSpool() (*blockpush.Spool, error) { return nil, errors.New("unused") }

func (f *failPusher) Push(_ context.Context, to peer.ID, _ blockpush.Source, _ cid.Cid, _ func(blockpush.Progress)) error {
	if f.bad[to] {
		return fmt.Errorf("%w: pushing to peer %s: refused", api.ErrUnavailable, to)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pushed = append(f.pushed, to)
	return nil
}

func TestPushAllReplacesFailedAllocations(t *testing.T) {
	a, b, c, d, e := peer.ID("A"), peer.ID("B"), peer.ID("C"), peer.ID("D"), peer.ID("E")
	cases := []struct {
		name       string
		candidates []peer.ID
		bad        []peer.ID
		want       []peer.ID // sorted; nil: the add fails naming failName (when set)
		failName   peer.ID
		min, max   int // 0: 3
	}{
		{"all reachable", []peer.ID{a, b, c, d}, nil, []peer.ID{a, b, c}, "", 0, 0},
		{"one replaced", []peer.ID{a, b, c, d}, []peer.ID{b}, []peer.ID{a, c, d}, "", 0, 0},
		{"the replacement fails too", []peer.ID{a, b, c, d, e}, []peer.ID{b, d}, []peer.ID{a, c, e}, "", 0, 0},
		{"no replacement", []peer.ID{a, b, c}, []peer.ID{c}, nil, c, 0, 0},
		{"replacement runs out", []peer.ID{a, b, c, d}, []peer.ID{b, d}, nil, d, 0, 0},
		{"fewer but over the minimum", []peer.ID{a, b, c}, []peer.ID{c}, []peer.ID{a, b}, "", 2, 3},
		{"everywhere: skip a failed peer", []peer.ID{a, b, c}, []peer.ID{b}, []peer.ID{a, c}, "", -1, -1},
		{"everywhere: nobody holds it", []peer.ID{a, b, c}, []peer.ID{a, b, c}, nil, "", -1, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := map[peer.ID]bool{}
			for _, p := range tc.bad {
				bad[p] = true
			}
			pusher := &failPusher{bad: bad}
			s := &AddService{d: Deps{Allocator: rankAlloc{tc.candidates}, Blocks: pusher, Members: fakeMembers{self: a},
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
			opts := api.PinOptions{ReplicationFactorMin: 3, ReplicationFactorMax: 3}
			if tc.min != 0 {
				opts.ReplicationFactorMin, opts.ReplicationFactorMax = tc.min, tc.max
			}
			got, err := s.pushAll(context.Background(), nil, testCid(t, "x"), opts, tc.candidates[:3], func(blockpush.Progress) {})
			if tc.want == nil {
				if err == nil || tc.failName != "" && !strings.Contains(err.Error(), tc.failName.String()) || !strings.Contains(err.Error(), "nothing was pinned") || !errors.Is(err, api.ErrUnavailable) {
					t.Fatalf("want a failure naming %s, got %v (holding %v)", tc.failName, err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("holding %v, want %v", got, tc.want)
			}
		})
	}
}

// An add stops waiting for a pushed root once every peer still missing has failed to pin it
// again (its node's failure: the blocks are there), naming them; a first failure is waited
// out, and a wait that ends names only the peers still missing, not every one.
func TestWaitPinnedOnFailsOnRepeatedPinErrors(t *testing.T) {
	w, fresh, _, _, _, pins := replicaWorld(t)
	errored := pins[2] // allocated to fresh, whose digest says pin_error after 3 attempts
	d := w.svc.StatusService.d.Digests.(*memDigests)
	add := w.svc.AddService
	err := add.waitPinnedOn(context.Background(), errored, []peer.ID{fresh}, []peer.ID{fresh})
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), fresh.String()) || !strings.Contains(err.Error(), "providers") {
		t.Fatalf("repeated pin errors: %v; want a failure naming the peer and its error", err)
	}
	e := d.entries[fresh][string(errored.Bytes())]
	e.Attempts = 1
	d.entries[fresh][string(errored.Bytes())] = e
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = add.waitPinnedOn(ctx, errored, []peer.ID{fresh}, []peer.ID{fresh})
	if !errors.Is(err, api.ErrTimeout) || !strings.Contains(err.Error(), fresh.String()) {
		t.Fatalf("a first failure: %v; want the wait to run out naming the peer", err)
	}
	d.entries[fresh][string(pins[0].Bytes())] = statusdigest.Entry{Cid: pins[0].Bytes(), Status: api.TrackerStatusPinned}
	if err := add.waitPinnedOn(context.Background(), pins[0], nil, []peer.ID{fresh}); err != nil {
		t.Fatalf("pinned on the pushed peer: %v", err)
	}
}
