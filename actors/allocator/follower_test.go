package allocator

import (
	"errors"
	"slices"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// TestFollowersAllocatedOnlyOnRequest: a follower (valid follower metric) is never picked by
// the ranking, even with the most free space, but a user allocation names it, an existing
// allocation to it is kept, and it does not count towards replication_factor_min otherwise.
func TestFollowersAllocatedOnlyOnRequest(t *testing.T) {
	cands := metricsOf(pm{id: "f", free: 1000}, pm{id: "a", free: 10}, pm{id: "b", free: 5})
	cands["f"][metricFollower] = api.Metric{Name: metricFollower, Peer: "f", Value: "true", Valid: true}
	cfg := Config{AllocateBy: []string{"freespace"}}
	c := testCid(t, 1)
	for _, tc := range []struct {
		name          string
		min, max      int
		current, user []string
		want          []string
		err           error
	}{
		{name: "ranked choice skips the follower", min: 1, max: 2, want: []string{"a", "b"}},
		{name: "every non-follower is not enough", min: 3, max: 3, err: api.ErrUnavailable},
		{name: "user allocation names it", min: 1, max: 2, user: []string{"f"}, want: []string{"f", "a"}},
		{name: "an allocation it holds is kept", min: 1, max: 2, current: []string{"f", "b"}, want: []string{"f", "b"}},
	} {
		got, err := Allocate(cfg, c, tc.min, tc.max, ids(tc.current...), ids(tc.user...), cands, "")
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: got %v %v, want %v", tc.name, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, ids(tc.want...)) {
			t.Errorf("%s: got %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
	// An expired (invalid) follower metric no longer marks the peer.
	cands["f"][metricFollower] = api.Metric{Name: metricFollower, Peer: "f", Value: "true"}
	if got, err := Allocate(cfg, c, 1, 1, nil, nil, cands, ""); err != nil || !slices.Equal(got, ids("f")) {
		t.Errorf("invalid follower metric: got %v %v, want [f]", got, err)
	}
}
