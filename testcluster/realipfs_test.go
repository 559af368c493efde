package testcluster

import (
	"context"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"

	"github.com/pincluster/pincluster/api"
)

// TestRealIPFSReplicates: on embedded IPFS nodes, content added (not pinned) on peer 0 and
// pinned with replication -1 becomes pinned on peer 1, which fetches it over bitswap on the
// cluster's own libp2p host.
func TestRealIPFSReplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded IPFS nodes: skipped with -short")
	}
	c := New(t, 2, WithRealIPFS())
	if c.Fake(0) != nil {
		t.Fatal("WithRealIPFS still uses a fake backend")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	params := api.DefaultAddParams()
	params.CidVersion = 1
	data := []byte("replicated by the testcluster harness over bitswap\n")
	root, err := c.Probe(0).Backend().Add(ctx, files.NewMapDirectory(map[string]files.Node{"f": files.NewBytesFile(data)}), params, func(api.AddedOutput) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Peer(0).Pin(ctx, root, api.PinOptions{Name: "real"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		c.WaitFor(func() bool { return c.LocalStatus(i, root) == api.TrackerStatusPinned }, 30*time.Second, "%s pinned on peer %d's embedded node", root, i)
	}
	if ok, _, err := c.Probe(1).Backend().IsPinned(ctx, root); err != nil || !ok {
		t.Fatalf("peer 1's node: pinned=%v err=%v", ok, err)
	}
}
