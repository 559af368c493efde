package ipfs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// idNode answers ID with id, or fails; it counts the calls.
type idNode struct {
	id    string
	err   error
	calls int
}

func (n *idNode) ID(context.Context) (api.IPFSID, error) {
	n.calls++
	return api.IPFSID{ID: n.id}, n.err
}

// The IPFS node's ID is asked at most once per Refresh: a node replaced under a running peer
// shows its new ID after that; one that is down keeps the last ID.
func TestIDCacheRefreshes(t *testing.T) {
	node := &idNode{id: "first"}
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	c := &IDCache{Node: node, Now: func() time.Time { return now }}
	if id := c.Get(t.Context()); id != "first" || node.calls != 1 {
		t.Fatalf("first: %q after %d calls", id, node.calls)
	}
	node.id = "second" // the IPFS node was replaced
	now = now.Add(30 * time.Second)
	if id := c.Get(t.Context()); id != "first" || node.calls != 1 {
		t.Fatalf("within the refresh: %q after %d calls, want the cached ID and no call", id, node.calls)
	}
	now = now.Add(time.Minute)
	if id := c.Get(t.Context()); id != "second" || node.calls != 2 {
		t.Fatalf("after the refresh: %q after %d calls, want the new ID", id, node.calls)
	}
	node.err = errors.New("down")
	now = now.Add(2 * time.Minute)
	if id := c.Get(t.Context()); id != "second" {
		t.Fatalf("node down: %q, want its last ID", id)
	}
	if id := (&IDCache{Node: &idNode{err: errors.New("down")}}).Get(t.Context()); id != "" {
		t.Fatalf("never answered: %q", id)
	}
}
