package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/testpeer"
)

// TestPeersRmTakesAPeerDownPastItsTTL: a member that died stops being listed once its ping
// expires, but it is still dialled; peers rm must still take it (it answered 404 before, so a
// peer gone for good was dialled forever). An ID nobody knows is still refused, and the
// removed peer, restarted, is not taken back.
func TestPeersRmTakesAPeerDownPastItsTTL(t *testing.T) {
	c := New(t, 3)
	c.WaitConnected(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.Kill(2)
	c.WaitFor(func() bool { return !c.peerIDs(t, 0)[c.ID(2)] }, 20*time.Second, "peer 0 stops listing the dead peer 2")
	if err := c.Peer(0).PeerRemove(ctx, testpeer.ID(t, 99)); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("peers rm of an unknown ID: %v, want not found", err)
	}
	if err := c.Peer(0).PeerRemove(ctx, c.ID(2)); err != nil {
		t.Fatalf("peers rm of a member down past its TTL: %v", err)
	}
	if err := c.Peer(0).PeerRemove(ctx, c.ID(2)); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("peers rm of a removed peer: %v, want not found", err)
	}
	c.Restart(2)
	for _, i := range []int{0, 1} {
		c.Consistently(func() bool { return !c.peerIDs(t, i)[c.ID(2)] }, 3*time.Second, "peer", i, "does not take the removed peer back")
	}
}
