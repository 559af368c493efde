package allocator

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// AllocateMany answers each request as Allocate would, from one ranking, in order.
func TestAllocateMany(t *testing.T) {
	system, _, a := spawnTree(t, Deps{Removed: removedList{}})
	send(system, a, liveMetrics("a", 10, time.Hour))
	send(system, a, liveMetrics("b", 20, time.Hour))
	if got, err := allocate(t, a, 1, 2); err != nil || !slices.Equal(got, ids("b", "a")) {
		t.Fatalf("metrics not in: %v, %v", str(got), err)
	}
	reqs := []Request{
		{Cid: testCid(t, 1), Min: 1, Max: 2},
		{Cid: testCid(t, 2), Min: 3, Max: 3}, // more than there are peers
		{Cid: testCid(t, 3), Min: 1, Max: 1},
	}
	allocs, errs, err := a.AllocateMany(context.Background(), reqs)
	if err != nil || len(allocs) != 3 || len(errs) != 3 {
		t.Fatalf("AllocateMany: %v (%d answers)", err, len(allocs))
	}
	if !slices.Equal(allocs[0], ids("b", "a")) || errs[0] != nil {
		t.Fatalf("request 0: %v, %v", str(allocs[0]), errs[0])
	}
	if !errors.Is(errs[1], api.ErrUnavailable) {
		t.Fatalf("request 1: err %v, want ErrUnavailable", errs[1])
	}
	if !slices.Equal(allocs[2], ids("b")) || errs[2] != nil {
		t.Fatalf("request 2: %v, %v", str(allocs[2]), errs[2])
	}
}
