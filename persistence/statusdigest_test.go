package persistence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

var digestStatuses = []api.TrackerStatus{0, api.TrackerStatusPinned, api.TrackerStatusPinning, api.TrackerStatusPinQueued,
	api.TrackerStatusPinError, api.TrackerStatusUnpinning, api.TrackerStatusUnpinQueued, api.TrackerStatusUnpinError}

// dumpDigest renders a digest's live entries (Seq aside) for comparison.
func dumpDigest(t *testing.T, each func(context.Context, func(statusdigest.Entry) error) error) string {
	t.Helper()
	var b strings.Builder
	if err := each(context.Background(), func(e statusdigest.Entry) error {
		fmt.Fprintf(&b, "%x %s %d %q %d\n", e.Cid, e.Status, e.TS.UnixNano(), e.Error, e.Attempts)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestDigestReplicaConverges is the replica's property: after any order of deltas (each
// delivered at least once, some twice, some late, some coalesced into runs), folds (in half the seeds) and pulls (paged,
// with changes between the pages), the replica equals the publisher's own digest; and so it
// does when deltas are lost and a pull follows the last change.
func TestDigestReplicaConverges(t *testing.T) {
	pubID := newPeer(t, 7)
	cids := make([][]byte, 24)
	for i := range cids {
		cids[i] = mkCid(t, i).Bytes()
	}
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			lossy := seed%2 == 0
			pub, _ := openTemp(t)
			rep, _ := openTemp(t)
			now := time.Unix(1_700_000_000, 0)
			var pool []statusdigest.Digest // deltas in flight
			change := func() {
				n := 1 + rng.IntN(5)
				var ch []statusdigest.Entry
				for range n {
					st := digestStatuses[rng.IntN(len(digestStatuses))]
					e := statusdigest.Entry{Cid: cids[rng.IntN(len(cids))], Status: st}
					if st != 0 {
						e.TS = now.Add(time.Duration(rng.IntN(1000)) * time.Second).UTC()
						e.Attempts = rng.IntN(3)
						if st == api.TrackerStatusPinError || st == api.TrackerStatusUnpinError {
							e.Error = "boom"
						}
					}
					ch = append(ch, e)
				}
				d, err := pub.WriteOwnDigest(ch, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if len(d.Entries) > 0 {
					pool = append(pool, d)
				}
			}
			deliver := func(d statusdigest.Digest) {
				if _, err := rep.ApplyDigest(pubID, d, now); err != nil {
					t.Fatal(err)
				}
			}
			// In a third of the seeds the deltas delivered together go in as one run, as the
			// applier coalesces a peer's deltas waiting for it (ApplyDeltas).
			coalesce := seed%3 == 0
			var run *statusdigest.Run
			flush := func() {
				if run != nil {
					if _, err := rep.ApplyDeltas(pubID, run, now); err != nil {
						t.Fatal(err)
					}
					run = nil
				}
			}
			deliverSome := func() {
				defer flush()
				for len(pool) > 0 && rng.IntN(3) > 0 {
					i := rng.IntN(len(pool))
					d := pool[i]
					switch {
					case !coalesce:
						deliver(d)
					case run == nil:
						run = statusdigest.NewRun(d)
					default:
						run.Add(d)
					}
					switch r := rng.IntN(10); {
					case r == 0: // delivered again later
					case lossy && r == 1: // lost
						pool = slices.Delete(pool, i, i+1)
					default:
						pool = slices.Delete(pool, i, i+1)
					}
				}
			}
			folds := seed%4 < 2
			fold := func() { // as the applier does on size or a quiet heartbeat, between a pull's pages too
				rl := rep.lockReplica(pubID)
				defer rl.mu.Unlock()
				if err := rep.fold(rl, pubID, nil); err != nil {
					t.Fatal(err)
				}
			}
			pull := func() {
				gen, err := rep.StartDigestPull(pubID)
				if err != nil {
					t.Fatal(err)
				}
				var after []byte
				var epoch, seq uint64
				for first := true; ; first = false {
					pg, err := pub.OwnDigestPage(after, 1+rng.IntN(6))
					if err != nil {
						t.Fatal(err)
					}
					if first {
						epoch, seq = pg.Epoch, pg.Seq
					}
					if err := rep.ApplyDigestPage(pubID, gen, pg, first, time.Now()); err != nil {
						t.Fatal(err)
					}
					if rng.IntN(2) == 0 {
						change()
					}
					deliverSome()
					if folds && rng.IntN(2) == 0 {
						fold()
					}
					if !pg.More {
						break
					}
					after = pg.Entries[len(pg.Entries)-1].Cid
				}
				if _, err := rep.FinishDigestPull(pubID, gen, epoch, seq, now); err != nil {
					t.Fatal(err)
				}
			}
			for range 60 {
				switch r := rng.IntN(12); {
				case r < 6:
					change()
				case r < 9:
					deliverSome()
				case r < 11 && folds:
					fold()
				default:
					pull()
				}
			}
			if lossy {
				pull()
			}
			rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
			for _, d := range pool {
				if coalesce && run != nil {
					run.Add(d)
				} else if coalesce {
					run = statusdigest.NewRun(d)
				} else {
					deliver(d)
				}
			}
			flush()
			want := dumpDigest(t, pub.OwnDigestEach)
			got := dumpDigest(t, func(ctx context.Context, fn func(statusdigest.Entry) error) error {
				return rep.DigestEntries(ctx, pubID, fn)
			})
			if got != want {
				t.Fatalf("replica differs from the publisher's digest\nreplica:\n%s\npublisher:\n%s", got, want)
			}
			checkUnpinIndex(t, rep, pubID)
			m, _, err := rep.DigestMeta(pubID)
			if err != nil {
				t.Fatal(err)
			}
			_, seq, _ := pub.OwnDigestVersion()
			if !m.Current() || m.Contiguous != seq {
				t.Fatalf("replica version %+v, publisher at seq %d", m, seq)
			}
		})
	}
}

// TestDigestNewEpochDropsReplica: a publisher that lost its digest (a new epoch) replaces the
// whole replica; the view finds entries in order and out of order.
func TestDigestNewEpochDropsReplica(t *testing.T) {
	rep, _ := openTemp(t)
	p := newPeer(t, 3)
	c1, c2 := mkCid(t, 1).Bytes(), mkCid(t, 2).Bytes()
	now := time.Now()
	if _, err := rep.ApplyDigest(p, statusdigest.Digest{Epoch: 1, Seq: 1, Entries: []statusdigest.Entry{{Cid: c1, Status: api.TrackerStatusPinned, Seq: 1}}}, now); err != nil {
		t.Fatal(err)
	}
	m, err := rep.ApplyDigest(p, statusdigest.Digest{Epoch: 2, Seq: 1, Entries: []statusdigest.Entry{{Cid: c2, Status: api.TrackerStatusPinning, Seq: 1}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if m.Epoch != 2 || !m.Current() {
		t.Fatalf("meta %+v", m)
	}
	v := rep.OpenDigestView()
	defer v.Close()
	if _, ok, _ := v.Lookup(p, c1); ok {
		t.Fatal("the old epoch's entry survived")
	}
	if e, ok, err := v.Lookup(p, c2); !ok || e.Status != api.TrackerStatusPinning {
		t.Fatalf("entry %+v %v %v", e, ok, err)
	}
	if _, ok, _ := v.Lookup(p, c1); ok { // out of order
		t.Fatal("found a dropped entry")
	}
	// A heartbeat ahead of the replica marks it behind (a pull is due).
	m, err = rep.ApplyDigest(p, statusdigest.Digest{Epoch: 2, Seq: 5, Heartbeat: true}, now)
	if err != nil || m.Current() {
		t.Fatalf("meta %+v after a heartbeat ahead, err %v", m, err)
	}
}

// TestDigestViewLookupsInAnyOrder: a view answers lookups of two peers interleaved, in CID
// order, skipping CIDs, and back out of order (its key buffers are reused from call to call).
func TestDigestViewLookupsInAnyOrder(t *testing.T) {
	rep, _ := openTemp(t)
	a, b := newPeer(t, 4), newPeer(t, 5)
	var cids [][]byte
	for i := range 40 {
		cids = append(cids, mkCid(t, 100+i).Bytes())
	}
	slices.SortFunc(cids, bytes.Compare)
	entries := func(odd int) []statusdigest.Entry {
		var es []statusdigest.Entry
		for i, c := range cids {
			if i%2 == odd {
				es = append(es, statusdigest.Entry{Cid: c, Status: api.TrackerStatusPinned, Seq: 1})
			}
		}
		return es
	}
	now := time.Now()
	for i, p := range []peer.ID{a, b} {
		if _, err := rep.ApplyDigest(p, statusdigest.Digest{Epoch: 1, Seq: 1, Entries: entries(i)}, now); err != nil {
			t.Fatal(err)
		}
	}
	v := rep.OpenDigestView()
	defer v.Close()
	// Lookup, and LookupIn's bound lookups (b's opened before a's: cursors open on first use).
	bound := []func([]byte, *statusdigest.Entry) (bool, error){nil, v.LookupIn(b)}
	bound[0] = v.LookupIn(a)
	check := func(i int) {
		t.Helper()
		for j, p := range []peer.ID{a, b} {
			e, ok, err := v.Lookup(p, cids[i])
			if err != nil || ok != (i%2 == j) || ok && !bytes.Equal(e.Cid, cids[i]) {
				t.Fatalf("cid %d, peer %d: %+v %v %v", i, j, e, ok, err)
			}
			var be statusdigest.Entry
			ok, err = bound[j](cids[i], &be)
			if err != nil || ok != (i%2 == j) || ok && (!bytes.Equal(be.Cid, cids[i]) || !reflect.DeepEqual(be, e)) {
				t.Fatalf("cid %d, peer %d, bound: %+v %v %v", i, j, be, ok, err)
			}
		}
	}
	for i := 0; i < len(cids); i += 3 { // forward, skipping
		check(i)
	}
	for i := len(cids) - 1; i >= 0; i-- { // backward: each call out of order
		check(i)
	}
	for i := range cids {
		check(i)
	}
	v.Close()
	if _, err := bound[0](cids[0], new(statusdigest.Entry)); !errors.Is(err, ErrClosed) {
		t.Fatalf("a bound lookup after Close: %v, want ErrClosed", err)
	}
}

// TestDigestReplicaKeepsIdentity: a heartbeat's peername and IPFS peer ID go into the
// replica's meta (stored); a later heartbeat without them (a peer of an earlier version, or
// whose IPFS node did not answer), a delta and a new epoch leave them; a new one replaces them.
func TestDigestReplicaKeepsIdentity(t *testing.T) {
	rep, _ := openTemp(t)
	p, ipfsID := newPeer(t, 3), newPeer(t, 4).String()
	now := time.Now()
	apply := func(d statusdigest.Digest) statusdigest.Meta {
		t.Helper()
		if _, err := rep.ApplyDigest(p, d, now); err != nil {
			t.Fatal(err)
		}
		m, found, err := rep.DigestMeta(p)
		if err != nil || !found {
			t.Fatalf("meta: %v %v", found, err)
		}
		return m
	}
	if m := apply(statusdigest.Digest{Epoch: 1, Seq: 0, Heartbeat: true, Peername: "alpha", IPFS: ipfsID}); m.Peername != "alpha" || m.IPFS != ipfsID {
		t.Fatalf("after a heartbeat with names: %+v", m)
	}
	apply(statusdigest.Digest{Epoch: 1, Seq: 0, Heartbeat: true})
	apply(statusdigest.Digest{Epoch: 1, Seq: 1, Entries: []statusdigest.Entry{{Cid: mkCid(t, 1).Bytes(), Status: api.TrackerStatusPinned, Seq: 1}}})
	if m := apply(statusdigest.Digest{Epoch: 2, Seq: 0, Heartbeat: true}); m.Peername != "alpha" || m.IPFS != ipfsID || m.Epoch != 2 {
		t.Fatalf("after heartbeats without names, a delta and a new epoch: %+v", m)
	}
	if m := apply(statusdigest.Digest{Epoch: 2, Seq: 0, Heartbeat: true, Peername: "beta"}); m.Peername != "beta" || m.IPFS != ipfsID {
		t.Fatalf("after a new name: %+v", m)
	}
}

// TestDigestPageMatchesLookups: a pull page merged through one iterator (putReplicaEntries)
// leaves the replica, generations included, exactly as merging its entries one lookup at a
// time does, for pages in key order, shuffled, and with repeated CIDs, over stored entries
// older, newer and as old as the page's.
func TestDigestPageMatchesLookups(t *testing.T) {
	p := newPeer(t, 3)
	cids := make([][]byte, 40)
	for i := range cids {
		cids[i] = mkCid(t, i).Bytes()
	}
	slices.SortFunc(cids, bytes.Compare)
	for seed := uint64(1); seed <= 30; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*31))
			now := time.Unix(1_700_000_000, 0).UTC()
			entry := func(c []byte) statusdigest.Entry {
				return statusdigest.Entry{Cid: c, Status: api.TrackerStatusPinned, TS: now.Add(time.Duration(rng.IntN(100)) * time.Second), Seq: 1 + uint64(rng.IntN(6))}
			}
			var stored []statusdigest.Entry
			for _, c := range cids {
				if rng.IntN(3) > 0 {
					stored = append(stored, entry(c))
				}
			}
			var page []statusdigest.Entry
			for _, c := range cids {
				for range rng.IntN(3) { // absent, once, or twice
					page = append(page, entry(c))
				}
			}
			if seed%3 == 0 {
				rng.Shuffle(len(page), func(i, j int) { page[i], page[j] = page[j], page[i] })
			}
			got, want := storeWithReplica(t, p, stored), storeWithReplica(t, p, stored)
			if err := got.update(func(txn *badger.Txn) error { return putReplicaEntries(txn, p, 0, 9, page, true) }); err != nil {
				t.Fatal(err)
			}
			if err := want.update(func(txn *badger.Txn) error {
				for _, e := range page {
					if err := putReplicaEntry(txn, p, 0, 9, e, true); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if g, w := rawPrefix(t, got, digestPeerPrefix(p)), rawPrefix(t, want, digestPeerPrefix(p)); g != w {
				t.Fatalf("merged through the iterator:\n%s\none lookup at a time:\n%s", g, w)
			}
		})
	}
}

// storeWithReplica is a store whose replica of p holds stored (generation 1).
func storeWithReplica(t *testing.T, p peer.ID, stored []statusdigest.Entry) *Store {
	s, _ := openTemp(t)
	if err := s.update(func(txn *badger.Txn) error {
		for _, e := range stored {
			v, err := encodeDigestEntry(1, e)
			if err != nil {
				return err
			}
			if err := txn.Set(digestKey(p, e.Cid), v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// rawPrefix renders every key and value under prefix.
func rawPrefix(t *testing.T, s *Store, prefix []byte) string {
	t.Helper()
	var b strings.Builder
	if err := s.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = prefix
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%x %x\n", it.Item().Key(), v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
