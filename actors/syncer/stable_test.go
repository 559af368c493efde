package syncer

import (
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestStableVV(t *testing.T) {
	self, p, q := newPeer(t, 1), newPeer(t, 2), newPeer(t, 3)
	o1, o2, untrusted := newPeer(t, 10), newPeer(t, 11), newPeer(t, 12)
	trusted := func(id peer.ID) bool { return id != untrusted }
	now := time.Unix(1700000000, 0)
	notBefore := now.Add(-30 * time.Second)
	fresh := func(vv map[peer.ID]uint64) SeenVV { return SeenVV{VV: vv, At: now} }
	type vv = map[peer.ID]uint64
	cases := []struct {
		name        string
		members     []peer.ID
		local       vv
		seen        map[peer.ID]SeenVV
		want        vv
		wantMissing []peer.ID
	}{
		{"alone: own vector", []peer.ID{self}, vv{o1: 5, o2: 0}, nil, vv{o1: 5}, nil},
		{"self not listed still counts", nil, vv{o1: 5}, nil, vv{o1: 5}, nil},
		{"pointwise minimum", []peer.ID{self, p, q}, vv{o1: 5, o2: 9},
			map[peer.ID]SeenVV{p: fresh(vv{o1: 5, o2: 3}), q: fresh(vv{o1: 4, o2: 8})},
			vv{o1: 4, o2: 3}, nil},
		{"origin absent from one peer counts as 0", []peer.ID{self, p}, vv{o1: 5, o2: 9},
			map[peer.ID]SeenVV{p: fresh(vv{o1: 5})}, vv{o1: 5}, nil},
		{"a member holds ops this peer lacks: wait", []peer.ID{self, p}, vv{o1: 5},
			map[peer.ID]SeenVV{p: fresh(vv{o1: 7})}, nil, []peer.ID{p}},
		{"a member holds ops of an origin this peer lacks: wait", []peer.ID{self, p}, vv{o1: 5},
			map[peer.ID]SeenVV{p: fresh(vv{o1: 5, o2: 4})}, nil, []peer.ID{p}},
		{"ops of an untrusted origin do not count", []peer.ID{self, p}, vv{o1: 5},
			map[peer.ID]SeenVV{p: fresh(vv{o1: 5, untrusted: 4})}, vv{o1: 5}, nil},
		{"member never seen", []peer.ID{self, p, q}, vv{o1: 5},
			map[peer.ID]SeenVV{p: fresh(vv{o1: 5})}, nil, []peer.ID{q}},
		{"member seen too long ago", []peer.ID{self, p}, vv{o1: 5},
			map[peer.ID]SeenVV{p: {VV: vv{o1: 5}, At: notBefore.Add(-time.Second)}}, nil, []peer.ID{p}},
		{"non-members ignored", []peer.ID{self, p}, vv{o1: 5},
			map[peer.ID]SeenVV{p: fresh(vv{o1: 5}), q: fresh(vv{o1: 1})}, vv{o1: 5}, nil},
		{"empty peer vector: nothing", []peer.ID{self, p}, vv{o1: 5},
			map[peer.ID]SeenVV{p: fresh(vv{})}, vv{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, missing := stableVV(self, tc.members, tc.local, tc.seen, notBefore, trusted)
			if !reflect.DeepEqual(missing, tc.wantMissing) {
				t.Fatalf("missing=%v want %v", missing, tc.wantMissing)
			}
			if tc.want == nil {
				if got != nil {
					t.Fatalf("upTo=%v with members missing", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("upTo=%v want %v", got, tc.want)
			}
		})
	}
}

// A copy that holds ops this peer lacks gives way to the copy read first, when that one is
// fresh and held here and the ops lacking are of members; otherwise it stays (and the member
// is missing).
func TestKeepHeld(t *testing.T) {
	self, p, q, r, o, stranger := newPeer(t, 1), newPeer(t, 2), newPeer(t, 3), newPeer(t, 4), newPeer(t, 5), newPeer(t, 6)
	now := time.Now()
	local := map[peer.ID]uint64{o: 5}
	fresh := SeenVV{VV: map[peer.ID]uint64{o: 5}, At: now.Add(-time.Second)}
	first := map[peer.ID]SeenVV{p: fresh, q: {VV: fresh.VV, At: now.Add(-time.Hour)}, r: fresh}
	again := map[peer.ID]SeenVV{
		p: {VV: map[peer.ID]uint64{o: 6}, At: now},              // ahead in a member's ops
		q: {VV: map[peer.ID]uint64{o: 6}, At: now},              // the first copy is stale
		r: {VV: map[peer.ID]uint64{o: 5, stranger: 1}, At: now}, // ahead in a stranger's ops
	}
	keepHeld(again, first, local, []peer.ID{self, p, q, r, o}, now.Add(-time.Minute), func(peer.ID) bool { return true })
	if again[p].VV[o] != 5 {
		t.Fatalf("p: %v, want the held first copy", again[p].VV)
	}
	if again[q].VV[o] != 6 {
		t.Fatalf("q: %v, want the end copy (the first is stale)", again[q].VV)
	}
	if again[r].VV[stranger] != 1 {
		t.Fatalf("r: %v, want the end copy (it names an origin that is no member)", again[r].VV)
	}
	if _, missing := stableVV(self, []peer.ID{self, r}, local, map[peer.ID]SeenVV{r: again[r]}, now.Add(-time.Minute), func(peer.ID) bool { return true }); len(missing) != 1 {
		t.Fatal("a member whose copy names an origin this peer lacks is not missing")
	}
}
