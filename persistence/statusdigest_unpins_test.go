package persistence

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// checkUnpinIndex fails unless p's unpin index holds exactly the CIDs of the unpins in flight
// in p's replica, and DigestView.Unpins lists them in order.
func checkUnpinIndex(t *testing.T, s *Store, p peer.ID) {
	t.Helper()
	var want strings.Builder
	if err := s.DigestEntries(context.Background(), p, func(e statusdigest.Entry) error {
		if e.UnpinInFlight() {
			fmt.Fprintf(&want, "%x %d\n", e.Cid, e.Status)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := listUnpins(t, s, p); got != want.String() {
		t.Fatalf("unpin index:\n%s\nunpins in the replica:\n%s", got, want.String())
	}
}

// listUnpins renders p's unpin index (DigestView.Unpins): CID and status a line.
func listUnpins(t *testing.T, s *Store, p peer.ID) string {
	t.Helper()
	v := s.OpenDigestView()
	defer v.Close()
	var b strings.Builder
	if err := v.Unpins(p, func(c []byte, st api.TrackerStatus) error { fmt.Fprintf(&b, "%x %d\n", c, st); return nil }); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestDigestUnpinIndex: the index of the replicas' unpins in flight follows deltas, pulls that
// sweep entries, a new epoch and a dropped replica; a store without it (an earlier version, a
// loaded backup) builds it at open.
func TestDigestUnpinIndex(t *testing.T) {
	s, dir := openTemp(t)
	p, q := newPeer(t, 3), newPeer(t, 4)
	c1, c2, c3 := mkCid(t, 1).Bytes(), mkCid(t, 2).Bytes(), mkCid(t, 3).Bytes()
	now := time.Now()
	ts := now.UTC()
	apply := func(id peer.ID, d statusdigest.Digest) {
		t.Helper()
		if _, err := s.ApplyDigest(id, d, now); err != nil {
			t.Fatal(err)
		}
	}
	entry := func(c []byte, st api.TrackerStatus, seq uint64) statusdigest.Entry {
		return statusdigest.Entry{Cid: c, Status: st, TS: ts, Seq: seq, Error: "e"}
	}
	apply(p, statusdigest.Digest{Epoch: 1, Seq: 1, Entries: []statusdigest.Entry{
		entry(c1, api.TrackerStatusUnpinError, 1), entry(c2, api.TrackerStatusUnpinning, 1), entry(c3, api.TrackerStatusPinned, 1)}})
	apply(q, statusdigest.Digest{Epoch: 1, Seq: 1, Entries: []statusdigest.Entry{entry(c3, api.TrackerStatusUnpinQueued, 1)}})
	checkUnpinIndex(t, s, p)
	checkUnpinIndex(t, s, q)
	first, second := c1, c2
	if bytes.Compare(c2, c1) < 0 {
		first, second = c2, c1
	}
	if got := listUnpins(t, s, p); !strings.HasPrefix(got, fmt.Sprintf("%x", first)) || !strings.Contains(got, fmt.Sprintf("\n%x", second)) {
		t.Fatalf("p's unpins %q", got)
	}

	// The unpin of c2 is done (a tombstone); c3 is unpinned at p, then retried.
	apply(p, statusdigest.Digest{Epoch: 1, Seq: 2, Entries: []statusdigest.Entry{{Cid: c2, Seq: 2}, entry(c3, api.TrackerStatusUnpinQueued, 2)}})
	checkUnpinIndex(t, s, p)
	// A late delta (delta 1 again: an entry carries its delta's seq, which ApplyDigest
	// checks) does not undo the newer entry (nor its index key).
	apply(p, statusdigest.Digest{Epoch: 1, Seq: 1, Entries: []statusdigest.Entry{entry(c2, api.TrackerStatusUnpinning, 1)}})
	checkUnpinIndex(t, s, p)

	// A pull that does not bring c1 (gone at p) sweeps it and its index key.
	gen, err := s.StartDigestPull(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyDigestPage(p, gen, statusdigest.Page{Epoch: 1, Seq: 3, Entries: []statusdigest.Entry{entry(c3, api.TrackerStatusUnpinQueued, 2)}}, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishDigestPull(p, gen, 1, 3, now); err != nil {
		t.Fatal(err)
	}
	checkUnpinIndex(t, s, p)
	if got := listUnpins(t, s, p); got != fmt.Sprintf("%x %d\n", c3, api.TrackerStatusUnpinQueued) {
		t.Fatalf("p's unpins after the pull %q", got)
	}

	// A new epoch drops p's replica and its index.
	apply(p, statusdigest.Digest{Epoch: 2, Seq: 1, Entries: []statusdigest.Entry{entry(c2, api.TrackerStatusPinning, 1)}})
	checkUnpinIndex(t, s, p)
	if got := listUnpins(t, s, p); got != "" {
		t.Fatalf("p's unpins after a new epoch %q", got)
	}
	// A dropped replica takes its index along; q's is left.
	if err := s.DropDigest(q); err != nil {
		t.Fatal(err)
	}
	if got := rawPrefix(t, s, prefixDigestUnpin); got != "" {
		t.Fatalf("index left after the drop:\n%s", got)
	}

	// A store of an earlier version: no index and no mark. The next open builds it, and
	// drops a key left without its unpin (a backup loaded into a store that held it).
	apply(p, statusdigest.Digest{Epoch: 2, Seq: 2, Entries: []statusdigest.Entry{entry(c1, api.TrackerStatusUnpinError, 2)}})
	before := rawPrefix(t, s, prefixDigestUnpin)
	if err := s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(keyDigestUnpinsIdx); err != nil {
			return err
		}
		if err := txn.Set(unpinKey(q, c2), []byte{byte(api.TrackerStatusUnpinError)}); err != nil {
			return err
		}
		return txn.Delete(unpinKey(p, c1))
	}); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir)
	if got := rawPrefix(t, s, prefixDigestUnpin); got != before || !strings.Contains(got, fmt.Sprintf("%x", c1)) {
		t.Fatalf("index after a reopen:\n%s\nwant:\n%s", got, before)
	}
	checkUnpinIndex(t, s, p)

	// c1's entry changed without its index key (the mark stays): the next open drops the key.
	if err := s.db.Update(func(txn *badger.Txn) error {
		v, err := encodeDigestEntry(0, entry(c1, api.TrackerStatusPinned, 3))
		if err != nil {
			return err
		}
		l, err := getLayout(txn, p)
		if err != nil {
			return err
		}
		l.Loose++
		if err := setLayout(txn, p, l); err != nil {
			return err
		}
		return txn.Set(append(digestEraPrefix(p, l.Era), c1...), v)
	}); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir)
	checkUnpinIndex(t, s, p)
	if got := listUnpins(t, s, p); got != "" {
		t.Fatalf("p's unpins after a downgrade's change %q", got)
	}
}

// A delta and a pull page of MaxEntries failed unpins with long errors, and their index
// keys, exceed one Badger transaction: they are written in parts, and the replica is current.
func TestDigestUnpinsBeyondOneTransaction(t *testing.T) {
	s, _ := openTemp(t)
	p, q := newPeer(t, 3), newPeer(t, 4)
	now := time.Now()
	long := strings.Repeat("x", 190)
	entries := make([]statusdigest.Entry, statusdigest.MaxEntries)
	for i := range entries {
		entries[i] = statusdigest.Entry{Cid: mkCid(t, i).Bytes(), Status: api.TrackerStatusUnpinError, TS: now.UTC(), Error: long, Seq: 1}
	}
	m, err := s.ApplyDigest(p, statusdigest.Digest{Epoch: 1, Seq: 1, Entries: entries}, now)
	if err != nil || !m.Current() {
		t.Fatalf("delta: meta %+v, %v", m, err)
	}
	checkUnpinIndex(t, s, p)
	slices.SortFunc(entries, func(a, b statusdigest.Entry) int { return bytes.Compare(a.Cid, b.Cid) })
	gen, err := s.StartDigestPull(q)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyDigestPage(q, gen, statusdigest.Page{Epoch: 1, Seq: 1, Entries: entries}, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if m, err := s.FinishDigestPull(q, gen, 1, 1, now); err != nil || !m.Current() {
		t.Fatalf("pull: meta %+v, %v", m, err)
	}
	checkUnpinIndex(t, s, q)
	if n := strings.Count(listUnpins(t, s, q), "\n"); n != len(entries) {
		t.Fatalf("%d unpins indexed, want %d", n, len(entries))
	}
}
