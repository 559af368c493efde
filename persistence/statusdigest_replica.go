package persistence

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/statusdigest"
)

// The replicas of the other peers' status digests (sr*/ keys, statusdigest.go has the layout,
// statusdigest_packs.go the packs): merged from their deltas and pulls, read by global status
// (DigestView).

func getDigestMeta(txn *badger.Txn, p peer.ID) (m statusdigest.Meta, found bool, err error) {
	item, err := txn.Get(digestMetaKey(p))
	if err == badger.ErrKeyNotFound {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	err = item.Value(func(v []byte) error { return json.Unmarshal(v, &m) })
	return m, err == nil, err
}

func setDigestMeta(txn *badger.Txn, p peer.ID, m statusdigest.Meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return txn.Set(digestMetaKey(p), b)
}

// DigestMeta is the version of this peer's replica of p's digest (found false: none yet).
func (s *Store) DigestMeta(p peer.ID) (m statusdigest.Meta, found bool, err error) {
	if err := s.enter(); err != nil {
		return m, false, err
	}
	defer s.leave()
	return s.digestMeta(p)
}

// digestMeta is DigestMeta for a caller inside the gate.
func (s *Store) digestMeta(p peer.ID) (m statusdigest.Meta, found bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		m, found, err = getDigestMeta(txn, p)
		return err
	})
	return m, found, err
}

// ApplyDigest merges a digest p published (a delta or a heartbeat) into the replica of p at
// now: a new epoch drops the old replica, but for an epoch the replica left less than
// statusdigest.RetiredWindow ago, whose digests are ignored (Meta.Refuses); a delta's entries
// replace older ones (last writer wins by seq) unless the delta is at or below the replica's
// floor; a heartbeat's peername and IPFS peer ID replace the known ones (Meta.Told). It
// returns the replica's version after it; behind (Meta.Current false) means a pull is due.
func (s *Store) ApplyDigest(p peer.ID, d statusdigest.Digest, now time.Time) (statusdigest.Meta, error) {
	for _, e := range d.Entries {
		if e.Seq != d.Seq { // Decode refuses it; the floor is applied per entry
			return statusdigest.Meta{}, fmt.Errorf("persistence: an entry at seq %d in the delta %d", e.Seq, d.Seq)
		}
	}
	if d.Heartbeat {
		return s.applyReplica(p, d.Epoch, nil, nil, &d, now)
	}
	return s.applyReplica(p, d.Epoch, []uint64{d.Seq}, d.Entries, nil, now)
}

// ApplyDeltas is ApplyDigest of every delta of the run r at once: each of its seqs is
// recorded as applied and its entries (one per CID) are written in one pass, in
// transactions of MaxEntries at most. An entry's Seq must be its delta's, as
// statusdigest.Decode makes sure: the floor is applied per entry.
func (s *Store) ApplyDeltas(p peer.ID, r *statusdigest.Run, now time.Time) (statusdigest.Meta, error) {
	return s.applyReplica(p, r.Epoch, r.Seqs, r.Entries, nil, now)
}

// applyReplica is ApplyDigest of the deltas seqs of epoch with their entries, or of the
// heartbeat hb (not nil).
func (s *Store) applyReplica(p peer.ID, epoch uint64, seqs []uint64, entries []statusdigest.Entry, hb *statusdigest.Digest, now time.Time) (statusdigest.Meta, error) {
	if err := s.enter(); err != nil {
		return statusdigest.Meta{}, err
	}
	defer s.leave()
	rl := s.lockReplica(p)
	defer rl.mu.Unlock()
	m, _, err := s.digestMeta(p)
	if err != nil {
		return m, err
	}
	if refused, err := s.takeEpoch(p, &m, epoch, now); err != nil || refused {
		if refused { // a late message of the publisher's previous life
			s.log.Debug("persistence: a status digest of the epoch its publisher just left, ignored", "peer", p, "epoch", epoch)
		}
		return m, err
	}
	l, err := s.layout(p)
	if err != nil {
		return m, err
	}
	var heard uint64
	if hb != nil {
		m.Told(*hb)
		heard = hb.Seq
	}
	for _, seq := range seqs {
		if seq > m.Floor {
			m.Applied(seq)
		}
		heard = max(heard, seq)
	}
	// An entry's seq is its delta's (Decode checks it): those at or below the floor are in.
	entries = sortedAbove(entries, m.Floor)
	m.Hear(heard, now)
	l, err = s.writeReplica(p, l, m, len(entries), func(txn *badger.Txn, from, to int) error {
		return putReplicaEntries(txn, p, l.Era, 0, entries[from:to], false)
	})
	if err == nil && rl.foldDue(l, hb != nil) {
		// The digest is stored: a fold that fails leaves a replica as readable as before it
		// (the next one starts by cleaning up), so it is logged, not the apply's error, which
		// would make the applier drop the rest of its batch.
		if ferr := s.fold(rl, p, nil); ferr != nil {
			s.log.Warn("persistence: folding a status digest replica into packs (tried again later)", "peer", p, "err", ferr)
		}
	}
	return m, err
}

// takeEpoch moves m, p's replica's version, to epoch at now, dropping the replica of the
// epoch it held; refused (m unchanged) for an epoch the replica left less than
// statusdigest.RetiredWindow ago (Meta.Refuses). The same epoch changes nothing.
func (s *Store) takeEpoch(p peer.ID, m *statusdigest.Meta, epoch uint64, now time.Time) (refused bool, err error) {
	if m.Epoch == epoch {
		return false, nil
	}
	if m.Refuses(epoch, now) {
		return true, nil
	}
	if err := s.dropDigest(p); err != nil {
		return false, err
	}
	m.Reset(epoch, now)
	return false, nil
}

// sortedAbove is a copy of the entries past seq floor in CID order (by their keys' order), so
// that putReplicaEntries reads the stored ones with one iterator.
func sortedAbove(entries []statusdigest.Entry, floor uint64) []statusdigest.Entry {
	out := make([]statusdigest.Entry, 0, len(entries))
	for _, e := range entries {
		if e.Seq > floor {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b statusdigest.Entry) int { return bytes.Compare(a.Cid, b.Cid) })
	return out
}

// layout reads p's replica layout.
func (s *Store) layout(p peer.ID) (l replicaLayout, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		l, err = getLayout(txn, p)
		return err
	})
	return l, err
}

// updateInParts writes items [0, n) with write and then last, in one transaction when Badger
// takes it, else in parts of halving size with last in the final one: a delta or page of
// MaxEntries unpin entries with long errors, and their index keys, exceeds a transaction.
// Parts committed before a failure are harmless: entries are last writer wins by seq, a
// pull's carry its generation, and the meta (last) says what was applied.
func (s *Store) updateInParts(n int, write func(txn *badger.Txn, from, to int) error, last func(txn *badger.Txn) error) error {
	return s.updateInPartsOf(n, n, write, last)
}

// updateInPartsOf is updateInParts trying parts of part items first.
func (s *Store) updateInPartsOf(n, part int, write func(txn *badger.Txn, from, to int) error, last func(txn *badger.Txn) error) error {
	part = max(min(part, n), 1)
	for from := 0; ; {
		to := min(from+part, n)
		err := s.update(func(txn *badger.Txn) error {
			if err := write(txn, from, to); err != nil || to < n {
				return err
			}
			return last(txn)
		})
		if errors.Is(err, badger.ErrTxnTooBig) && to-from > 1 {
			part = (to - from) / 2
			continue
		}
		if err != nil || to == n {
			return err
		}
		from = to
	}
}

// putReplicaEntry stores e in p's overlay of era at gen when it is newer than the stored
// entry. A pull's entry (mark) also replaces one at the same seq (the same change: it takes
// the pull's gen) and otherwise marks the stored, newer entry with gen; a delta's entry at the
// same seq leaves the stored one and its gen alone. (A pack's version is not read: an entry
// is the newer of its two versions, statusdigest_packs.go.)
func putReplicaEntry(txn *badger.Txn, p peer.ID, era, gen uint64, e statusdigest.Entry, mark bool) error {
	key := append(digestEraPrefix(p, era), e.Cid...)
	_, cur, found, err := getDigestEntry(txn, key, e.Cid)
	if err != nil {
		return err
	}
	return mergeReplicaEntry(txn, p, key, gen, e, cur, found, mark)
}

// mergeReplicaEntry is putReplicaEntry given the stored entry cur (found false: none).
func mergeReplicaEntry(txn *badger.Txn, p peer.ID, key []byte, gen uint64, e, cur statusdigest.Entry, found, mark bool) error {
	switch {
	case !found || e.Seq > cur.Seq:
	case !mark:
		return nil
	case e.Seq < cur.Seq:
		e = cur
	}
	v, err := encodeDigestEntry(gen, e)
	if err != nil {
		return err
	}
	if err := txn.Set(key, v); err != nil {
		return err
	}
	return indexUnpin(txn, unpinKey(p, e.Cid), e)
}

// StartDigestPull starts a pull of p's whole digest: it returns the generation that marks what
// the pull brings.
func (s *Store) StartDigestPull(p peer.ID) (uint64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	rl := s.lockReplica(p)
	defer rl.mu.Unlock()
	var gen uint64
	err := s.update(func(txn *badger.Txn) error {
		m, _, err := getDigestMeta(txn, p)
		if err != nil {
			return err
		}
		m.Gen++
		gen = m.Gen
		return setDigestMeta(txn, p, m)
	})
	return gen, err
}

// ApplyDigestPage merges a page of p's whole digest, marking what it brings with gen (the
// pull's), at now. The first page of a pull (first) of a new epoch drops the old replica, but
// for an epoch the replica left less than statusdigest.RetiredWindow ago (a page of the
// publisher's previous life, answered before it restarted, is refused as its digests are);
// a later page of another epoch than the replica's fails the pull.
func (s *Store) ApplyDigestPage(p peer.ID, gen uint64, pg statusdigest.Page, first bool, now time.Time) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if len(pg.Entries) > statusdigest.MaxEntries {
		return fmt.Errorf("persistence: a status digest page of %d entries (limit %d)", len(pg.Entries), statusdigest.MaxEntries)
	}
	rl := s.lockReplica(p)
	defer rl.mu.Unlock()
	m, _, err := s.digestMeta(p)
	if err != nil {
		return err
	}
	if m.Epoch != pg.Epoch {
		if !first {
			return errDigestEpochMoved
		}
		if refused, err := s.takeEpoch(p, &m, pg.Epoch, now); err != nil {
			return err
		} else if refused {
			return errDigestEpochRetired
		}
		m.Gen = gen
	}
	l, err := s.layout(p)
	if err != nil {
		return err
	}
	_, err = s.writeReplica(p, l, m, len(pg.Entries), func(txn *badger.Txn, from, to int) error {
		return putReplicaEntries(txn, p, l.Era, gen, pg.Entries[from:to], true)
	})
	return err
}

// writeReplica writes n entries into p's overlay (l's era) with put, in parts when they
// exceed a transaction, counting them into the layout, and m with the last part; it returns
// the layout after.
func (s *Store) writeReplica(p peer.ID, l replicaLayout, m statusdigest.Meta, n int, put func(txn *badger.Txn, from, to int) error) (replicaLayout, error) {
	loose := l.Loose
	l.Loose += uint64(n)
	// Parts of a delta's or page's size at most: a coalesced run holds up to the applier's
	// queue (128k entries), and Badger takes about 8k to a transaction at 8 MiB memtables, so
	// trying the whole run first wasted the writes of each failed try (a 32k run: 48k
	// entries written for nothing).
	err := s.updateInPartsOf(n, statusdigest.MaxEntries, func(txn *badger.Txn, from, to int) error {
		if err := put(txn, from, to); err != nil {
			return err
		}
		part := l
		part.Loose = loose + uint64(to) // the entries so far count before the last part
		return setLayout(txn, p, part)
	}, func(txn *badger.Txn) error {
		if err := setLayout(txn, p, l); err != nil {
			return err
		}
		return setDigestMeta(txn, p, m)
	})
	return l, err
}

// putReplicaEntries is putReplicaEntry (mark: a pull's) of every entry. They come in key
// order (a pull's page, or a delta's entries sorted), so the stored entries are read with one
// iterator walking beside them instead of a lookup per entry: a lookup that misses searches
// every level's tables, and a fresh peer's first pull of a member holding 10M pins made 10M
// of them (13% of its CPU during a catch-up, 2026-12-03). An entry out of order or repeated
// (a publisher that does not sort) is looked up on its own, which also sees the earlier
// writes of its transaction.
func putReplicaEntries(txn *badger.Txn, p peer.ID, era, gen uint64, entries []statusdigest.Entry, mark bool) error {
	if len(entries) == 0 { // a heartbeat: no iterator
		return nil
	}
	opts := badger.DefaultIteratorOptions
	opts.Prefix = digestEraPrefix(p, era)
	opts.PrefetchValues = false
	it := txn.NewIterator(opts) // before any write of this transaction: it sees the stored entries only
	defer it.Close()
	var last []byte // the greatest CID merged through the iterator
	for _, e := range entries {
		if last != nil && bytes.Compare(e.Cid, last) <= 0 {
			if err := putReplicaEntry(txn, p, era, gen, e, mark); err != nil {
				return err
			}
			continue
		}
		key := append(append([]byte{}, opts.Prefix...), e.Cid...)
		seekForward(it, key, last == nil)
		last = e.Cid
		var cur statusdigest.Entry
		found := it.Valid() && bytes.Equal(it.Item().Key(), key)
		if found {
			var err error
			if _, cur, err = itemDigestEntry(it.Item(), e.Cid); err != nil {
				return err
			}
		}
		if err := mergeReplicaEntry(txn, p, key, gen, e, cur, found, mark); err != nil {
			return err
		}
	}
	return nil
}

// seekForward moves it to the first key at or after key, which is after its current key
// (first: it has not been positioned yet). A few steps forward are cheaper than a seek, which
// searches every level again.
func seekForward(it *badger.Iterator, key []byte, first bool) {
	if !first {
		for range 8 {
			if !it.Valid() || bytes.Compare(it.Item().Key(), key) >= 0 {
				return
			}
			it.Next()
		}
	}
	it.Seek(key)
}

// FinishDigestPull ends a pull of p's digest of generation gen whose first page was read at
// version (epoch, seq): entries at or below seq that the pull did not bring, and tombstones
// at or below seq, are gone at p and are swept, by a fold; seq becomes the replica's floor.
func (s *Store) FinishDigestPull(p peer.ID, gen, epoch, seq uint64, now time.Time) (statusdigest.Meta, error) {
	if err := s.enter(); err != nil {
		return statusdigest.Meta{}, err
	}
	defer s.leave()
	rl := s.lockReplica(p)
	defer rl.mu.Unlock()
	m, _, err := s.digestMeta(p)
	if err != nil {
		return m, err
	}
	if m.Epoch != epoch || m.Gen != gen {
		return m, errDigestEpochMoved
	}
	if err := s.fold(rl, p, &sweep{gen: gen, seq: seq}); err != nil {
		return m, err
	}
	m.Pulled(seq)
	m.Hear(seq, now)
	err = s.update(func(txn *badger.Txn) error { return setDigestMeta(txn, p, m) })
	return m, err
}

// DropDigest forgets p's replica (p was removed from the cluster).
func (s *Store) DropDigest(p peer.ID) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	rl := s.lockReplica(p)
	defer rl.mu.Unlock()
	if err := s.dropDigest(p); err != nil {
		return err
	}
	rl.heard = false
	// The layout stays (a few bytes): a peer added again starts past the ranges of these deletes.
	return s.update(func(txn *badger.Txn) error { return txn.Delete(digestMetaKey(p)) })
}

// dropDigest deletes p's replica (overlay, packs and unpin index) and moves its layout to a
// fresh era and pack generation, whose ranges hold none of the deletes. Callers hold p's replica lock.
func (s *Store) dropDigest(p peer.ID) error {
	for _, prefix := range [][]byte{digestPeerPrefix(p), peerPrefix(prefixDigestPack, p), unpinPeerPrefix(p)} {
		if err := s.dropPrefix(prefix); err != nil {
			return err
		}
	}
	l, err := s.layout(p)
	if err != nil {
		return err
	}
	l = replicaLayout{Era: max(l.Era, l.OldEra) + 1, Packs: max(l.Packs, l.OldPacks) + 1}
	return s.update(func(txn *badger.Txn) error { return setLayout(txn, p, l) })
}

// dropPrefix deletes every key under prefix, in batches.
func (s *Store) dropPrefix(prefix []byte) error {
	for {
		var keys [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			opts := badger.DefaultIteratorOptions
			opts.Prefix, opts.PrefetchValues = prefix, false
			it := txn.NewIterator(opts)
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < digestDeleteBatch; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		// In parts when the batch exceeds a transaction (a memtable smaller than the default).
		if err := s.updateInParts(len(keys), func(txn *badger.Txn, from, to int) error {
			for _, k := range keys[from:to] {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		}, func(*badger.Txn) error { return nil }); err != nil {
			return err
		}
	}
}

// DigestEntries calls fn with every live entry of p's replica in binary CID order (tests, and
// the replica's audit).
func (s *Store) DigestEntries(ctx context.Context, p peer.ID, fn func(statusdigest.Entry) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.db.View(func(txn *badger.Txn) error {
		l, err := getLayout(txn, p)
		if err != nil {
			return err
		}
		return replicaWalk(txn, p, l, func(_ []byte, ov, pv *version) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if e := newer(ov, pv); !e.entry.Deleted() {
				e.entry.Cid = bytes.Clone(e.entry.Cid) // fn may keep it
				return fn(e.entry)
			}
			return nil
		})
	})
}
