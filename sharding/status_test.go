package sharding

import (
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

func gpi(allocs []peer.ID, st map[peer.ID]api.TrackerStatus) api.GlobalPinInfo {
	g := api.GlobalPinInfo{Allocations: allocs, PeerMap: map[string]api.PinInfoShort{}}
	for p, s := range st {
		g.PeerMap[p.String()] = api.PinInfoShort{Status: s}
	}
	return g
}

func TestAggregate(t *testing.T) {
	p := ids(3)
	R, P := api.TrackerStatusRemote, api.TrackerStatusPinned
	meta := gpi([]peer.ID{p[1]}, map[peer.ID]api.TrackerStatus{p[0]: R, p[1]: P, p[2]: R})
	cases := []struct {
		name   string
		shards []api.GlobalPinInfo
		want   map[peer.ID]api.TrackerStatus
	}{
		{"all pinned", []api.GlobalPinInfo{
			gpi([]peer.ID{p[0]}, map[peer.ID]api.TrackerStatus{p[0]: P, p[1]: R, p[2]: R}),
			gpi([]peer.ID{p[1]}, map[peer.ID]api.TrackerStatus{p[0]: R, p[1]: P, p[2]: R}),
		}, map[peer.ID]api.TrackerStatus{p[0]: api.TrackerStatusSharded, p[1]: api.TrackerStatusSharded, p[2]: R}},
		{"worst wins", []api.GlobalPinInfo{
			gpi([]peer.ID{p[0]}, map[peer.ID]api.TrackerStatus{p[0]: P, p[1]: R, p[2]: R}),
			gpi([]peer.ID{p[0], p[2]}, map[peer.ID]api.TrackerStatus{p[0]: api.TrackerStatusPinning, p[1]: R, p[2]: api.TrackerStatusPinError}),
			gpi([]peer.ID{p[0]}, map[peer.ID]api.TrackerStatus{p[0]: api.TrackerStatusPinQueued, p[1]: R, p[2]: R}),
		}, map[peer.ID]api.TrackerStatus{p[0]: api.TrackerStatusPinning, p[1]: api.TrackerStatusSharded, p[2]: api.TrackerStatusPinError}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := Aggregate(meta, c.shards)
			for id, want := range c.want {
				if got := g.PeerMap[id.String()].Status; got != want {
					t.Fatalf("peer %s: %s, want %s", id, got, want)
				}
			}
		})
	}
	g := Aggregate(meta, []api.GlobalPinInfo{gpi([]peer.ID{p[2]}, map[peer.ID]api.TrackerStatus{p[2]: api.TrackerStatusPinError})})
	if e := g.PeerMap[p[2].String()].Error; !strings.Contains(e, "shard 0") {
		t.Fatalf("error %q does not name the shard", e)
	}
	if len(g.Allocations) != 2 {
		t.Fatalf("allocations %v, want the meta's and the shard's", g.Allocations)
	}
}
