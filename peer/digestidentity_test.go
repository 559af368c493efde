package peer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// idNode answers ID with id, or fails; it counts the calls.
type idNode struct {
	ipfs.Backend
	id    string
	err   error
	calls int
}

func (n *idNode) ID(context.Context) (api.IPFSID, error) {
	n.calls++
	return api.IPFSID{ID: n.id}, n.err
}

// Heartbeats tell the IPFS node's ID asked at most once per identityRefresh: a node replaced
// under a running peer shows its new ID after that; one that is down keeps the last ID.
func TestDigestIdentityRefreshes(t *testing.T) {
	node := &idNode{id: "first"}
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	d := &digestIdentity{name: "p", ipfs: node, now: func() time.Time { return now }}
	if _, id := d.identify(t.Context()); id != "first" || node.calls != 1 {
		t.Fatalf("first heartbeat: %q after %d calls", id, node.calls)
	}
	node.id = "second" // the IPFS node was replaced
	now = now.Add(identityRefresh / 2)
	if _, id := d.identify(t.Context()); id != "first" || node.calls != 1 {
		t.Fatalf("within the refresh: %q after %d calls, want the cached ID and no call", id, node.calls)
	}
	now = now.Add(identityRefresh)
	if _, id := d.identify(t.Context()); id != "second" || node.calls != 2 {
		t.Fatalf("after the refresh: %q after %d calls, want the new ID", id, node.calls)
	}
	node.err = errors.New("down")
	now = now.Add(2 * identityRefresh)
	if _, id := d.identify(t.Context()); id != "second" {
		t.Fatalf("node down: %q, want its last ID", id)
	}
}
