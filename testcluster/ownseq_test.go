package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/offlinestate"
)

// TestCleanedPeerDoesNotReuseItsSeqs: a peer whose state is cleaned (state cleanup) and that
// keeps its identity numbers its new ops after those the cluster holds of it, so the others
// take them. Before, it numbered from 1 again: the others skipped its new ops as seen, and
// the pins it acknowledged never reached them. While it has not heard how far the cluster
// holds its ops, it refuses changes (503) rather than guess.
func TestCleanedPeerDoesNotReuseItsSeqs(t *testing.T) {
	c := New(t, 3)
	c.WaitConnected(10 * time.Second)
	ctx := context.Background()
	before := testCids("ownseq-before", 1200) // past the mark's period: the mark is not only the stop's
	for _, x := range before {
		if _, err := c.Peer(2).Pin(ctx, x, api.PinOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitFor(func() bool { return c.CountPins(0) == len(before) && c.CountPins(1) == len(before) }, 30*time.Second, "peer 2's pins everywhere")
	c.Stop(2)
	if _, err := offlinestate.Backup(c.Dir(2)); err != nil { // state cleanup
		t.Fatal(err)
	}
	c.Start(2)
	after := testCids("ownseq-after", 20)
	for _, x := range after {
		c.WaitFor(func() bool {
			_, err := c.Peer(2).Pin(ctx, x, api.PinOptions{})
			if err != nil && !errors.Is(err, api.ErrUnavailable) {
				t.Fatalf("pin on the cleaned peer: %v", err)
			}
			return err == nil
		}, 30*time.Second, "the cleaned peer takes %s", x)
	}
	for _, i := range []int{0, 1, 2} {
		c.WaitFor(func() bool { return c.CountPins(i) == len(before)+len(after) }, 30*time.Second,
			"peer %d holds the pins from before the cleanup and after it", i)
	}
}
