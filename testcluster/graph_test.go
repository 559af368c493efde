package testcluster

import (
	"context"
	"slices"
	"testing"
	"time"
)

// The health graph shows each member's own connections to other members, as it reports them:
// in a 3-peer cluster (a full mesh) every member links to both others, not only to the peer
// that drew the graph.
func TestConnectGraphShowsEachMembersLinks(t *testing.T) {
	const n = 3
	c := New(t, n)
	c.WaitConnected(10 * time.Second)
	// WaitConnected waits for pings, which may come through a third peer: wait for every
	// direct connection first.
	c.WaitFor(func() bool { return c.connected(0, 1) && c.connected(0, 2) && c.connected(1, 2) }, 10*time.Second,
		"every pair connected")
	g, err := c.Peer(0).ConnectGraph(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g.ClusterID != c.ID(0) {
		t.Fatalf("cluster_id %s, want %s", g.ClusterID, c.ID(0))
	}
	for i := range n {
		links := g.ClusterLinks[c.ID(i).String()]
		for j := range n {
			if j != i && !slices.Contains(links, c.ID(j)) {
				t.Errorf("peer %d's links %v lack peer %d", i, links, j)
			}
		}
		if slices.Contains(links, c.ID(i)) || len(links) != n-1 {
			t.Errorf("peer %d's links %v: want the two others, once each", i, links)
		}
	}
}
