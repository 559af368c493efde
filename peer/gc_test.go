package peer

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/ipfs/fake"
)

// gcTestPeer starts a peer with a shared secret, quick anti-entropy and no background
// collection (the test asks the collector for rounds itself).
func gcTestPeer(t *testing.T, secret string) (*Peer, *fake.Backend) {
	t.Helper()
	dir := t.TempDir()
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg := gcTestConfig(secret)
	backend := fake.New()
	p, err := New(context.Background(), dir, cfg, ident, Options{Backend: backend, NoREST: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, backend
}

// gcTestConfig is gcTestPeer's configuration.
func gcTestConfig(secret string) servicejson.Config {
	cfg := testConfig()
	cfg.Cluster.Secret = secret
	cfg.Cluster.StateSyncInterval = config.Duration(time.Hour)
	cfg.Consensus.CRDT.RebroadcastInterval = config.Duration(300 * time.Millisecond)
	cfg.Consensus.CRDT.TrustedPeers = []string{"*"}
	return cfg
}

// collectUntil runs collection rounds on every peer until done.
func collectUntil(t *testing.T, what string, done func() bool, peers ...*Peer) {
	t.Helper()
	waitFor(t, what, func() bool {
		for _, p := range peers {
			if err := p.collector.CollectNow(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		return done()
	})
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
		if err := a.collector.CollectNow(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.collector.CollectNow(ctx); err != nil {
			t.Fatal(err)
		}
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
	other, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	raced, newer := testCid(t, "raced"), testCid(t, "newer")
	pinOp := func(seq uint64, clock crdt.HLC, c api.Cid) crdt.Op {
		pin := api.NewPin(c, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
		pin.Allocations = []libp2ppeer.ID{}
		js, err := json.Marshal(pin)
		if err != nil {
			t.Fatal(err)
		}
		return crdt.Op{Origin: other.ID, Seq: seq, Clock: clock, Kind: crdt.OpPin, Cid: c, PinJSON: js}
	}
	if err := p.store.ExcludeMember(other.ID, 100); err != nil {
		t.Fatal(err)
	}
	p.store.SetRacedHandler(nil) // the immediate path is lost
	if err := p.pinset.ApplyRemoteWait(ctx, []crdt.Op{pinOp(1, 50, raced), pinOp(2, 150, newer)}); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := p.store.GetPin(raced); !found {
		t.Fatal("the raced pin was not applied")
	}
	if err := p.collector.CollectNow(ctx); err != nil { // a round starts with the sweep
		t.Fatal(err)
	}
	waitFor(t, "the raced pin is superseded", func() bool {
		_, found, _ := p.store.GetPin(raced)
		return !found
	})
	if _, found, _ := p.store.GetPin(newer); !found {
		t.Fatal("a pin newer than the watermark was unpinned")
	}
}

// A peer keeps the tombstone of a CID it still has to unpin (its unpin failing here) however
// stable, so that a crash losing the tracker's memory leaves the startup state sync a record
// to unpin it by; the peer that unpinned it collects the tombstone, and this one does once
// its unpin is done.
func TestCollectionKeepsTombstonesOfUnpinsToDo(t *testing.T) {
	ctx := context.Background()
	secret := config.NewSecret()
	a, _ := gcTestPeer(t, secret)
	b, bBackend := gcTestPeer(t, secret)
	connectPeers(t, a, b)
	x := testCid(t, "unpin fails at b")
	if _, err := a.Pin(ctx, x, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to pin x", func() bool { return bBackend.Pinned(x) })
	bBackend.FailUnpin(x, errors.New("ipfs is down"))
	if _, err := a.Unpin(ctx, x); err != nil {
		t.Fatal(err)
	}
	collectUntil(t, "a to collect x's tombstone", func() bool { _, found, _ := a.store.Get(x); return !found }, a, b)
	if rec, found, _ := b.store.Get(x); !found || !rec.Deleted {
		t.Fatal("b collected the tombstone of a CID it has not unpinned")
	}
	bBackend.Heal(x)
	if _, err := b.Recover(ctx, x, true); err != nil {
		t.Fatal(err)
	}
	collectUntil(t, "b to unpin x and collect its tombstone", func() bool { _, found, _ := b.store.Get(x); return !bBackend.Pinned(x) && !found }, b)
}

// downBackend fails unpins and pin listings while down: an IPFS node that is not answering.
type downBackend struct {
	ipfs.Backend
	down *atomic.Bool
}

func (d downBackend) Unpin(ctx context.Context, c api.Cid) error {
	if d.down.Load() {
		return errors.New("ipfs is down")
	}
	return d.Backend.Unpin(ctx, c)
}

func (d downBackend) PinLs(ctx context.Context, fn func(api.Cid, api.PinMode) error) error {
	if d.down.Load() {
		return errors.New("ipfs is down")
	}
	return d.Backend.PinLs(ctx, fn)
}

// A peer restarted while its IPFS node is down has lost the unpins its tracker held in memory,
// and its startup state sync could not list the node to put them back: until a sync does,
// collection keeps every tombstone, so the unpin is found again once the node answers.
func TestCollectionKeepsTombstonesUntilARestartedTrackerIsReconciled(t *testing.T) {
	ctx := context.Background()
	secret := config.NewSecret()
	a, _ := gcTestPeer(t, secret)
	dir := t.TempDir()
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg := gcTestConfig(secret)
	node, down := fake.New(), &atomic.Bool{}
	start := func() *Peer {
		b, err := New(ctx, dir, cfg, ident, Options{Backend: node, NoREST: true,
			WrapBackend: func(be ipfs.Backend) ipfs.Backend { return downBackend{be, down} }})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := start()
	connectPeers(t, a, b)
	x := testCid(t, "unpinned while b's node is down")
	if _, err := a.Pin(ctx, x, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to pin x", func() bool { return node.Pinned(x) })
	down.Store(true)
	if _, err := a.Unpin(ctx, x); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to apply the unpin", func() bool { rec, found, _ := b.store.Get(x); return found && rec.Deleted })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = start() // the node still down: its startup sync cannot list it
	t.Cleanup(func() { b.Close() })
	connectPeers(t, a, b)
	collectUntil(t, "a to collect x's tombstone", func() bool { _, found, _ := a.store.Get(x); return !found }, a, b)
	if rec, found, _ := b.store.Get(x); !found || !rec.Deleted {
		t.Fatal("b collected a tombstone while its tracker may have lost the unpin")
	}
	down.Store(false)
	if _, err := b.healer.Sweep(ctx); err != nil { // a state sync that lists the node
		t.Fatal(err)
	}
	collectUntil(t, "b to unpin x and collect its tombstone", func() bool { _, found, _ := b.store.Get(x); return !node.Pinned(x) && !found }, b)
}
