package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/syncer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/messages"
)

func gcPeer(t *testing.T, seed byte) libp2ppeer.ID {
	priv, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := libp2ppeer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestStableVV(t *testing.T) {
	self, p, q := gcPeer(t, 1), gcPeer(t, 2), gcPeer(t, 3)
	o1, o2, untrusted := gcPeer(t, 10), gcPeer(t, 11), gcPeer(t, 12)
	trusted := func(id libp2ppeer.ID) bool { return id != untrusted }
	now := time.Unix(1700000000, 0)
	notBefore := now.Add(-30 * time.Second)
	fresh := func(vv map[libp2ppeer.ID]uint64) syncer.SeenVV { return syncer.SeenVV{VV: vv, At: now} }
	type vv = map[libp2ppeer.ID]uint64
	cases := []struct {
		name        string
		members     []libp2ppeer.ID
		local       vv
		seen        map[libp2ppeer.ID]syncer.SeenVV
		want        vv
		wantMissing []libp2ppeer.ID
	}{
		{"alone: own vector", []libp2ppeer.ID{self}, vv{o1: 5, o2: 0}, nil, vv{o1: 5}, nil},
		{"self not listed still counts", nil, vv{o1: 5}, nil, vv{o1: 5}, nil},
		{"pointwise minimum", []libp2ppeer.ID{self, p, q}, vv{o1: 5, o2: 9},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 5, o2: 3}), q: fresh(vv{o1: 4, o2: 8})},
			vv{o1: 4, o2: 3}, nil},
		{"origin absent from one peer counts as 0", []libp2ppeer.ID{self, p}, vv{o1: 5, o2: 9},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 5})}, vv{o1: 5}, nil},
		{"a member holds ops this peer lacks: wait", []libp2ppeer.ID{self, p}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 7})}, nil, []libp2ppeer.ID{p}},
		{"a member holds ops of an origin this peer lacks: wait", []libp2ppeer.ID{self, p}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 5, o2: 4})}, nil, []libp2ppeer.ID{p}},
		{"ops of an untrusted origin do not count", []libp2ppeer.ID{self, p}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 5, untrusted: 4})}, vv{o1: 5}, nil},
		{"member never seen", []libp2ppeer.ID{self, p, q}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 5})}, nil, []libp2ppeer.ID{q}},
		{"member seen too long ago", []libp2ppeer.ID{self, p}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: {VV: vv{o1: 5}, At: notBefore.Add(-time.Second)}}, nil, []libp2ppeer.ID{p}},
		{"non-members ignored", []libp2ppeer.ID{self, p}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 5}), q: fresh(vv{o1: 1})}, vv{o1: 5}, nil},
		{"empty peer vector: nothing", []libp2ppeer.ID{self, p}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{})}, vv{}, nil},
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

// gcTestPeer starts a peer with a shared secret, quick anti-entropy and no background
// collection (the test calls collectTombstones itself).
func gcTestPeer(t *testing.T, secret string) (*Peer, *fake.Backend) {
	t.Helper()
	dir := t.TempDir()
	ident, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Cluster.Secret = secret
	cfg.Cluster.StateSyncInterval = config.Duration(time.Hour)
	cfg.Consensus.CRDT.RebroadcastInterval = config.Duration(300 * time.Millisecond)
	cfg.Consensus.CRDT.TrustedPeers = []string{"*"}
	backend := fake.New()
	p, err := New(context.Background(), dir, cfg, ident, Options{Backend: backend, NoREST: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, backend
}

func connectPeers(t *testing.T, a, b *Peer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.host.Connect(ctx, libp2ppeer.AddrInfo{ID: b.host.ID(), Addrs: b.host.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll.Until(30*time.Second, 20*time.Millisecond, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Two peers collect a tombstone both have seen; a third peer joining afterwards is served a
// snapshot over the wire and pins what it holds.
func TestTombstoneCollectionAndSnapshotJoin(t *testing.T) {
	ctx := context.Background()
	secret := config.NewSecret()
	a, _ := gcTestPeer(t, secret)
	b, _ := gcTestPeer(t, secret)
	connectPeers(t, a, b)
	gone, kept := testCid(t, "gone"), testCid(t, "kept")
	if _, err := a.Pin(ctx, gone, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Pin(ctx, kept, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Unpin(ctx, gone); err != nil {
		t.Fatal(err)
	}
	sameVV := func() bool {
		va, _ := a.store.VersionVector()
		vb, _ := b.store.VersionVector()
		return va[a.ident.ID] == 3 && vb[a.ident.ID] == 3
	}
	waitFor(t, "b to receive a's ops", sameVV)
	// Until b's version vector is known, a keeps the tombstone.
	if rec, found, _ := a.store.Get(gone); !found || !rec.Deleted {
		t.Fatal("setup: a has no tombstone")
	}
	waitFor(t, "a and b to collect the tombstone", func() bool {
		a.collectTombstones(ctx)
		b.collectTombstones(ctx)
		_, fa, _ := a.store.Get(gone)
		_, fb, _ := b.store.Get(gone)
		return !fa && !fb
	})
	if tr, _ := a.store.TrimmedTo(a.ident.ID); tr != 3 {
		t.Fatalf("a's op log trimmed to %d, want 3", tr)
	}

	c, cBackend := gcTestPeer(t, secret)
	connectPeers(t, c, a)
	waitFor(t, "c to load a snapshot and pin what it holds", func() bool {
		vc, _ := c.store.VersionVector()
		return vc[a.ident.ID] == 3 && cBackend.Pinned(kept)
	})
	if _, found, _ := c.store.Get(gone); found {
		t.Fatal("c holds a collected CID")
	}
	if tr, _ := c.store.TrimmedTo(a.ident.ID); tr != 3 {
		t.Fatalf("c's op log marked trimmed to %d, want 3", tr)
	}
	// Ops after the snapshot still flow.
	later := testCid(t, "later")
	if _, err := a.Pin(ctx, later, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "c to receive a later pin", func() bool { return cBackend.Pinned(later) })
}

// A raced pin whose superseding was lost (the handler's work never ran: a crash, a full disk)
// is found and unpinned by the next collection round's sweep; a pin of the same member newer
// than its watermark stays.
func TestSupersedeRacedSweep(t *testing.T) {
	ctx := context.Background()
	p, _ := gcTestPeer(t, config.NewSecret())
	other, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	raced, newer := testCid(t, "raced"), testCid(t, "newer")
	pinOp := func(seq uint64, clock messages.HLC, c api.Cid) messages.Op {
		pin := api.NewPin(c, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
		pin.Allocations = []libp2ppeer.ID{}
		js, err := json.Marshal(pin)
		if err != nil {
			t.Fatal(err)
		}
		return messages.Op{Origin: other.ID, Seq: seq, Clock: clock, Kind: messages.OpPin, Cid: c, PinJSON: js}
	}
	if err := p.store.ExcludeMember(other.ID, 100); err != nil {
		t.Fatal(err)
	}
	p.store.SetRacedHandler(nil) // the immediate path is lost
	if err := p.pinset.ApplyRemoteWait(ctx, []messages.Op{pinOp(1, 50, raced), pinOp(2, 150, newer)}); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := p.store.GetPin(raced); !found {
		t.Fatal("the raced pin was not applied")
	}
	p.supersedeRaced(ctx)
	waitFor(t, "the raced pin is superseded", func() bool {
		_, found, _ := p.store.GetPin(raced)
		return !found
	})
	if _, found, _ := p.store.GetPin(newer); !found {
		t.Fatal("a pin newer than the watermark was unpinned")
	}
}
