package allocator

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
)

// pm describes one peer's metrics: "name=value" tags plus numeric metrics.
type pm struct {
	id      string
	tags    []string // "region=eu"
	free    int64    // -1: no freespace metric
	queue   int64    // pinqueue count
	invalid bool     // freespace present but not valid
}

func metricsOf(ps ...pm) map[peer.ID]map[string]api.Metric {
	out := make(map[peer.ID]map[string]api.Metric, len(ps))
	for _, p := range ps {
		id := peer.ID(p.id)
		ms := map[string]api.Metric{}
		if p.free >= 0 {
			ms["freespace"] = api.Metric{Name: "freespace", Peer: id, Value: strconv.FormatInt(p.free, 10), Weight: p.free, Valid: !p.invalid}
		}
		ms["pinqueue"] = api.Metric{Name: "pinqueue", Peer: id, Value: strconv.FormatInt(p.queue, 10), Weight: -p.queue, Valid: true}
		for _, t := range p.tags {
			k, v, _ := strings.Cut(t, "=")
			ms[TagPrefix+k] = api.Metric{Name: TagPrefix + k, Peer: id, Value: v, Valid: true, Partitionable: true}
		}
		out[id] = ms
	}
	return out
}

func ids(s ...string) []peer.ID {
	out := make([]peer.ID, len(s))
	for i, v := range s {
		out[i] = peer.ID(v)
	}
	return out
}

func testCid(t testing.TB, i int) api.Cid {
	h, err := mh.Sum([]byte(strconv.Itoa(i)), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

// regions: eu (190 free in total), us (90), asia (30).
var regions = []pm{
	{id: "eu1", tags: []string{"region=eu"}, free: 100},
	{id: "eu2", tags: []string{"region=eu"}, free: 90},
	{id: "us1", tags: []string{"region=us"}, free: 50},
	{id: "us2", tags: []string{"region=us"}, free: 40},
	{id: "as1", tags: []string{"region=asia"}, free: 30},
}

func TestAllocate(t *testing.T) {
	byRegion := Config{AllocateBy: []string{"tag:region", "freespace"}}
	byFree := Config{AllocateBy: []string{"freespace"}}
	cases := []struct {
		name     string
		cfg      Config
		min, max int
		current  []peer.ID
		user     []peer.ID
		local    peer.ID
		peers    []pm
		want     []peer.ID
		wantErr  error
	}{
		{name: "min -1 returns every candidate sorted by ID", cfg: byRegion, min: -1, max: -1, peers: regions,
			want: ids("as1", "eu1", "eu2", "us1", "us2")},
		{name: "max -1 with min 0 returns every candidate", cfg: byRegion, min: 0, max: -1, peers: regions,
			want: ids("as1", "eu1", "eu2", "us1", "us2")},
		// -1 with a positive factor is refused by the cluster's one rule (api.CheckReplication).
		{name: "max -1 with a positive min is invalid", cfg: byRegion, min: 2, max: -1, peers: regions,
			wantErr: api.ErrInvalid},
		{name: "min -1 with a positive max is invalid", cfg: byRegion, min: -1, max: 6, peers: regions,
			wantErr: api.ErrInvalid},
		{name: "freespace alone: most free space first", cfg: byFree, min: 1, max: 3, peers: regions,
			want: ids("eu1", "eu2", "us1")},
		{name: "tag spread: 3 regions, replication 3, one per region", cfg: byRegion, min: 3, max: 3, peers: regions,
			want: ids("eu1", "us1", "as1")},
		{name: "tag spread: round-robin over regions in aggregate order", cfg: byRegion, min: 5, max: 5, peers: regions,
			want: ids("eu1", "us1", "as1", "eu2", "us2")},
		{name: "nested tags: racks spread inside regions", cfg: Config{AllocateBy: []string{"tag:region", "tag:rack", "freespace"}}, min: 3, max: 3,
			peers: []pm{
				{id: "eu1", tags: []string{"region=eu", "rack=r1"}, free: 100},
				{id: "eu2", tags: []string{"region=eu", "rack=r1"}, free: 90},
				{id: "eu3", tags: []string{"region=eu", "rack=r2"}, free: 10},
				{id: "us1", tags: []string{"region=us", "rack=r1"}, free: 50},
			},
			want: ids("eu1", "us1", "eu3")},
		{name: "missing tag counts as the empty tag value", cfg: byRegion, min: 2, max: 2,
			peers: []pm{{id: "a", tags: []string{"region=eu"}, free: 10}, {id: "b", tags: []string{"region=eu"}, free: 20}, {id: "untagged", free: 1}},
			want:  ids("b", "untagged")},
		{name: "peer without freespace is not a candidate", cfg: byRegion, min: 1, max: 3,
			peers: []pm{{id: "a", tags: []string{"region=eu"}, free: 10}, {id: "nofree", tags: []string{"region=us"}, free: -1}},
			want:  ids("a")},
		{name: "peer with an invalid metric is not a candidate", cfg: byFree, min: 1, max: 3,
			peers: []pm{{id: "a", free: 10}, {id: "stale", free: 99, invalid: true}},
			want:  ids("a")},
		{name: "pinqueue alone: fewest queued first", cfg: Config{AllocateBy: []string{"pinqueue"}}, min: 2, max: 2,
			peers: []pm{{id: "p1", free: 1, queue: 5}, {id: "p2", free: 1, queue: 0}, {id: "p3", free: 1, queue: 2}},
			want:  ids("p2", "p3")},
		{name: "pinqueue steering: busy peer not chosen by pinqueue", cfg: Config{AllocateBy: []string{"pinqueue"}}, min: 2, max: 2,
			peers: []pm{{id: "busy", free: 1000, queue: 50}, {id: "q1", free: 10}, {id: "q2", free: 20}},
			want:  ids("q1", "q2")},
		{name: "pinqueue steering: busy peer not chosen by tag:group,pinqueue,freespace", cfg: Config{AllocateBy: []string{"tag:group", "pinqueue", "freespace"}}, min: 2, max: 2,
			peers: []pm{{id: "busy", tags: []string{"group=default"}, free: 1000, queue: 50}, {id: "q1", tags: []string{"group=default"}, free: 10}, {id: "q2", tags: []string{"group=default"}, free: 20}},
			want:  ids("q2", "q1")},
		{name: "user allocations come first", cfg: byRegion, min: 3, max: 3, user: ids("us2", "as1"), peers: regions,
			want: ids("us2", "as1", "eu1")},
		{name: "user allocations that are not candidates are ignored", cfg: byRegion, min: 2, max: 2, user: ids("ghost", "us2"), peers: regions,
			want: ids("us2", "eu1")},
		{name: "user allocations beyond max are cut", cfg: byRegion, min: 1, max: 2, user: ids("as1", "us2", "eu2"), peers: regions,
			want: ids("as1", "us2")},
		{name: "existing allocations are kept while at least min remain, even if better peers exist", cfg: byRegion, min: 2, max: 3,
			current: ids("us2", "as1", "eu2"), peers: regions, want: ids("us2", "as1", "eu2")},
		{name: "existing allocations with an unavailable peer are unchanged while min remain", cfg: byRegion, min: 2, max: 3,
			current: ids("us2", "ghost", "eu2"), peers: regions, want: ids("us2", "ghost", "eu2")},
		{name: "existing allocations below min: live kept, dead replaced up to max, spread away from kept regions", cfg: byRegion, min: 2, max: 3,
			current: ids("us2", "ghost1", "ghost2"), peers: regions, want: ids("us2", "eu1", "as1")},
		{name: "existing allocations all dead: reallocated from scratch", cfg: byFree, min: 1, max: 2,
			current: ids("ghost1", "ghost2"), peers: regions, want: ids("eu1", "eu2")},
		{name: "raising max keeps previous peers and adds new ones", cfg: byRegion, min: 1, max: 3,
			current: ids("us2", "as1"), peers: regions, want: ids("us2", "as1", "eu1")},
		{name: "lowering max keeps the first max of current", cfg: byRegion, min: 1, max: 2,
			current: ids("us2", "as1", "eu2"), peers: regions, want: ids("us2", "as1")},
		{name: "lowering max keeps live peers before unavailable ones", cfg: byRegion, min: 1, max: 2,
			current: ids("ghost", "us2", "as1"), peers: regions, want: ids("us2", "as1")},
		{name: "local is always included in a new pin", cfg: byFree, min: 2, max: 2, local: "as1", peers: regions,
			want: ids("as1", "eu1")},
		{name: "local is included ahead of user allocations", cfg: byFree, min: 1, max: 2, local: "as1", user: ids("us2", "us1"), peers: regions,
			want: ids("as1", "us2")},
		{name: "local replaces the last unavailable allocation when full", cfg: byFree, min: 1, max: 2, local: "us1",
			current: ids("ghost", "eu1"), peers: regions, want: ids("eu1", "us1")},
		{name: "local replaces the last allocation when full", cfg: byFree, min: 1, max: 2, local: "us1",
			current: ids("eu1", "eu2"), peers: regions, want: ids("eu1", "us1")},
		{name: "local that is not a candidate is ignored", cfg: byFree, min: 1, max: 2, local: "ghost", peers: regions,
			want: ids("eu1", "eu2")},
		{name: "not enough peers fails with ErrUnavailable", cfg: byRegion, min: 6, max: 6, peers: regions,
			wantErr: api.ErrUnavailable},
		{name: "between min and max: as many as available", cfg: byRegion, min: 4, max: 10, peers: regions,
			want: ids("eu1", "us1", "as1", "eu2", "us2")},
		{name: "no candidates and min 0 gives no allocations", cfg: byRegion, min: 0, max: 3, want: []peer.ID{}},
		{name: "min greater than max is invalid", cfg: byRegion, min: 3, max: 2, peers: regions, wantErr: api.ErrInvalid},
		{name: "factor below -1 is invalid", cfg: byRegion, min: -2, max: 2, peers: regions, wantErr: api.ErrInvalid},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testCid(t, i)
			got, err := Allocate(tc.cfg, c, tc.min, tc.max, tc.current, tc.user, metricsOf(tc.peers...), tc.local)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", str(got), str(tc.want))
			}
			if tc.max >= 0 && tc.min >= 0 && (len(got) > tc.max || len(got) < tc.min) {
				t.Fatalf("got %d peers, want between %d and %d", len(got), tc.min, tc.max)
			}
		})
	}
}

func TestAllocateNotEnoughMessage(t *testing.T) {
	c := testCid(t, 1)
	_, err := Allocate(Default(), c, 3, 3, nil, nil, metricsOf(pm{id: "a", free: 1}, pm{id: "b", free: 2}), "")
	want := "not enough peers to allocate " + c.String() + ": need at least 3 (replication_factor_min), 2 available"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
}

func TestAllocateDoesNotModifyInputs(t *testing.T) {
	cur := ids("us2", "ghost", "eu2")
	user := ids("as1")
	_, err := Allocate(Config{AllocateBy: []string{"freespace"}}, testCid(t, 1), 1, 2, cur, user, metricsOf(regions...), "as1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cur, ids("us2", "ghost", "eu2")) || !slices.Equal(user, ids("as1")) {
		t.Fatalf("inputs modified: current %v user %v", str(cur), str(user))
	}
}

func TestUnderReplicated(t *testing.T) {
	m := metricsOf(regions...)
	cases := []struct {
		name    string
		min     int
		current []peer.ID
		want    bool
	}{
		{"all live", 2, ids("eu1", "us1", "as1"), false},
		{"one dead, still at min", 2, ids("eu1", "us1", "ghost"), false},
		{"below min", 2, ids("eu1", "ghost", "ghost2"), true},
		{"replicate everywhere is never under-replicated", -1, ids("ghost"), false},
		{"new pin with min 1", 1, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := UnderReplicated(Default(), tc.min, tc.current, m); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func str(ps []peer.ID) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}
