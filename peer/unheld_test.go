package peer

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/persistence"
)

// A tombstone this peer holds over no live record of its own (crdt.Unheld) stands for a pin
// the cluster never made here: the IPFS node's own pin of that CID must survive it, through
// the pinset's event and through the state sync. A tombstone over a live record this peer
// held still unpins, even when the tracker never heard of it (a crash): the state sync does.

// hasNodePin is a fake IPFS node on which its operator pinned c by hand.
func hasNodePin(t *testing.T, c api.Cid) *fake.Backend {
	t.Helper()
	node := fake.New()
	if err := node.Pin(context.Background(), c, api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	return node
}

// gcTestPeerOn is gcTestPeer on the given IPFS node.
func gcTestPeerOn(t *testing.T, secret string, node *fake.Backend) *Peer {
	t.Helper()
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(context.Background(), t.TempDir(), gcTestConfig(secret), ident, Options{Backend: node, NoREST: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// settle runs a state sync and waits until the tracker holds no work on c: the pinset's
// events sent before are handled (the sync asks the tracker after them), and whatever they
// or the sync queued for c is done.
func settle(t *testing.T, p *Peer, c api.Cid) {
	t.Helper()
	if _, err := p.healer.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tracker to settle "+c.String(), func() bool {
		set, err := p.tracker.TrackedSet(context.Background())
		return err == nil && !set.HasString(c.KeyString())
	})
}

// remoteOp is an op of origin on c: a pin everywhere, or an unpin.
func remoteOp(t *testing.T, origin libp2ppeer.ID, seq uint64, clock crdt.HLC, kind crdt.OpKind, c api.Cid) crdt.Op {
	t.Helper()
	op := crdt.Op{Origin: origin, Seq: seq, Clock: clock, Kind: kind, Cid: c}
	if kind == crdt.OpPin {
		pin := api.NewPin(c, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
		pin.Allocations = []libp2ppeer.ID{}
		js, err := json.Marshal(pin)
		if err != nil {
			t.Fatal(err)
		}
		op.PinJSON = js
	}
	return op
}

// The ops of another peer bring an unpin of a CID this peer never had a record of (its pin
// op was superseded before this peer heard of it): the node's own pin stays.
func TestUnheldTombstoneFromOpsLeavesNodePin(t *testing.T) {
	ctx := context.Background()
	x := testCid(t, "pinned by the node's operator")
	node := hasNodePin(t, x)
	p := gcTestPeerOn(t, config.NewSecret(), node)
	other, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pinset.ApplyRemoteWait(ctx, []crdt.Op{remoteOp(t, other.ID, 1, 100, crdt.OpUnpin, x)}); err != nil {
		t.Fatal(err)
	}
	if rec, found, _ := p.store.Get(x); !found || !rec.Deleted {
		t.Fatal("setup: no tombstone")
	}
	settle(t, p, x)
	if !node.Pinned(x) || node.UnpinCalls(x) != 0 {
		t.Fatalf("the node's own pin was removed (unpin calls %d): the cluster never pinned it here", node.UnpinCalls(x))
	}
}

// A fresh peer joins after a CID was pinned and unpinned; the peer it syncs from has trimmed
// its op log and still holds the tombstone, so the snapshot brings the tombstone alone: the
// node's own pin of that CID stays.
func TestSnapshotTombstoneLeavesNodePin(t *testing.T) {
	ctx := context.Background()
	secret := config.NewSecret()
	a, _ := gcTestPeer(t, secret)
	b, bNode := gcTestPeer(t, secret)
	connectPeers(t, a, b)
	x := testCid(t, "unpinned before c joined")
	if _, err := a.Pin(ctx, x, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to pin x", func() bool { return bNode.Pinned(x) })
	bNode.FailUnpin(x, errors.New("ipfs is down")) // b's tracker holds x: b keeps its tombstone
	if _, err := a.Unpin(ctx, x); err != nil {
		t.Fatal(err)
	}
	collectUntil(t, "a and b to trim their op logs", func() bool {
		_, found, _ := a.store.Get(x)
		tr, _ := b.store.TrimmedTo(a.ident.ID)
		return !found && tr >= 2
	}, a, b)
	a.Close() // c syncs from b, which holds the tombstone

	node := hasNodePin(t, x)
	c := gcTestPeerOn(t, secret, node)
	connectPeers(t, c, b)
	waitFor(t, "c to install b's snapshot", func() bool {
		vv, _ := c.store.VersionVector()
		return vv[a.ident.ID] >= 2
	})
	if rec, found, _ := c.store.Get(x); !found || !rec.Deleted {
		t.Fatal("setup: c holds no tombstone of x")
	}
	settle(t, c, x)
	if !node.Pinned(x) || node.UnpinCalls(x) != 0 {
		t.Fatalf("c removed its node's own pin of x (unpin calls %d): the cluster never pinned it there", node.UnpinCalls(x))
	}
}

// The legitimate case: this peer pinned x for the cluster, and the unpin reached its pinset
// while its tracker could not hear of it (a crash between the commit and the queue write,
// here a write behind the pinset actor's back). The state sync still unpins x, from a snapshot
// page as from an op.
func TestHeldTombstoneUnpinsAfterLostEvent(t *testing.T) {
	for _, viaSnapshot := range []bool{false, true} {
		name := "op"
		if viaSnapshot {
			name = "snapshot"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			x := testCid(t, "pinned by the cluster")
			p, node := gcTestPeer(t, config.NewSecret())
			other, err := identity.New()
			if err != nil {
				t.Fatal(err)
			}
			if err := p.pinset.ApplyRemoteWait(ctx, []crdt.Op{remoteOp(t, other.ID, 1, 100, crdt.OpPin, x)}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "x pinned", func() bool { return node.Pinned(x) })
			unpin := remoteOp(t, other.ID, 2, 200, crdt.OpUnpin, x)
			if viaSnapshot {
				_, err = p.store.ApplySnapshot([]persistence.Record{{Op: unpin, Deleted: true}})
			} else {
				_, err = p.store.Apply([]crdt.Op{unpin})
			}
			if err != nil {
				t.Fatal(err)
			}
			settle(t, p, x)
			if node.Pinned(x) {
				t.Fatal("the state sync left x pinned: its tombstone stands for a pin this peer made")
			}
		})
	}
}
