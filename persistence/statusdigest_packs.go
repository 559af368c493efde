package persistence

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/statusdigest"
)

// Packs: a replica is read by global status once per member per pin, and one Badger key per
// entry made that a merge-iterator step each (about 450 ns with one version of each key, and
// 1.3 us with three, as pin_queued, pinning and pinned leave before a compaction; 2026-12-05),
// six times the local pass at 20 members. So a replica is two parts:
//   - the overlay (sr/): one key per entry written since the last fold, in the live era; the
//     deltas and pull pages write here, last writer wins by seq as before;
//   - packs (srp/): the folded entries, up to a thousand per key in CID order, read by a cursor
//     that decodes a pack once for all its entries.
//
// An entry is the newer (by seq, then by gen: a pull's mark) of its overlay and pack versions.
// A fold merges both into a new pack generation and moves the live era on, then deletes the
// old era and generation: the deletes' tombstones lie outside the ranges the replica's readers
// walk, so they cost nothing before a compaction removes them. Decision: a fold is written
// whole under the replica's lock (replicaLock), as a pull's sweep was (FinishDigestPull is a
// fold that sweeps); the applier folds a replica when its overlay outgrows its packs (so an
// entry is rewritten a bounded number of times) and when it stayed quiet between two
// heartbeats of its peer (a settled replica is packs only, read at pack speed).

const (
	// Entries per pack at most, and bytes, whichever comes first. Moving to the next pack is
	// a Badger step and a block read (a fifth of a daemon's lookups at 16 KiB packs,
	// 2026-12-05). A pack must stay a value in the tree, under the store's value threshold
	// (64 KiB, badgerOptions): a record that would take it past packMaxBytes starts the next.
	packEntries  = 1024
	packBytes    = 48 << 10
	packMaxBytes = 60 << 10
	// foldFlushBytes: a fold writes its packs each time this much is cut, within a
	// transaction at the default memtable size (Badger takes 15% of it: 1.2 MiB).
	foldFlushBytes = 512 << 10
	foldMin        = 1024 // overlay entries before a fold on size, and at least as many as packed
	// foldQuietRatio: a quiet replica is folded when its overlay is at least
	// packed/foldQuietRatio.
	foldQuietRatio = 16
)

// replicaLayout is where p's replica lives: its live overlay era, its pack generation (0:
// none), how many entries the overlay and the packs hold (tombstones included; the overlay's
// is an upper bound), and the era and generation a fold left to delete (dirty).
type replicaLayout struct {
	Era, Packs, Loose, Packed uint64
	Dirty                     bool
	OldEra, OldPacks          uint64
}

func layoutKey(p peer.ID) []byte { return append(append([]byte{}, prefixDigestLayout...), p...) }

func (l replicaLayout) encode() []byte {
	b := make([]byte, 0, 49)
	for _, v := range []uint64{l.Era, l.Packs, l.Loose, l.Packed, l.OldEra, l.OldPacks} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	if l.Dirty {
		return append(b, 1)
	}
	return append(b, 0)
}

func getLayout(txn *badger.Txn, p peer.ID) (l replicaLayout, err error) {
	item, err := txn.Get(layoutKey(p))
	if err == badger.ErrKeyNotFound {
		return l, nil
	}
	if err != nil {
		return l, err
	}
	err = item.Value(func(v []byte) error {
		if len(v) != 49 {
			return fmt.Errorf("persistence: corrupt status digest replica layout of %s", p)
		}
		vs := []*uint64{&l.Era, &l.Packs, &l.Loose, &l.Packed, &l.OldEra, &l.OldPacks}
		for i, f := range vs {
			*f = binary.BigEndian.Uint64(v[8*i:])
		}
		l.Dirty = v[48] == 1
		return nil
	})
	return l, err
}

func setLayout(txn *badger.Txn, p peer.ID, l replicaLayout) error {
	return txn.Set(layoutKey(p), l.encode())
}

// version is one stored version of an entry (its value as stored, gen first).
type version struct {
	v     []byte
	gen   uint64
	entry statusdigest.Entry
}

// replicaWalk calls fn with every CID of p's replica in binary CID order and its overlay and
// pack versions (nil: none), in the snapshot txn. The CID, the versions and their entries'
// Cid are valid during fn only.
func replicaWalk(txn *badger.Txn, p peer.ID, l replicaLayout, fn func(c []byte, ov, pv *version) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = digestEraPrefix(p, l.Era)
	opts.PrefetchSize = 256
	it := txn.NewIterator(opts)
	defer it.Close()
	it.Rewind()
	pc := newPackCursor(txn, packPrefix(p, l.Packs))
	defer pc.close()
	if l.Packed != 0 {
		if err := pc.rewind(); err != nil {
			return err
		}
	}
	var ov, pv version
	for it.Valid() || pc.c != nil {
		var oc []byte
		if it.Valid() {
			oc = it.Item().Key()[len(opts.Prefix):]
		}
		cmp := 0
		switch {
		case oc == nil:
			cmp = 1
		case pc.c == nil:
			cmp = -1
		default:
			cmp = bytes.Compare(oc, pc.c)
		}
		var o, k *version
		c := oc
		if cmp <= 0 {
			v, err := it.Item().ValueCopy(ov.v[:0])
			if err != nil {
				return err
			}
			if ov.gen, ov.entry, err = decodeStoredValue(oc, v); err != nil {
				return err
			}
			ov.v, o = v, &ov
		}
		if cmp >= 0 {
			c = pc.c
			var err error
			if pv.gen, pv.entry, err = decodeStoredValue(pc.c, pc.v); err != nil {
				return err
			}
			pv.v, k = pc.v, &pv
		}
		if err := fn(c, o, k); err != nil {
			return err
		}
		if cmp <= 0 {
			it.Next()
		}
		if cmp >= 0 {
			if err := pc.next(); err != nil {
				return err
			}
		}
	}
	return nil
}

// newer is the version an entry is: the higher seq, then (the same change) the higher gen,
// then the overlay's. Gens only grow in a replica and deltas write gen 0, so a pull's mark on
// a folded entry survives a late delta of the same change that lands in the overlay: it would
// otherwise be swept at the pull's end, though live.
func newer(ov, pv *version) *version {
	if ov == nil || pv != nil && packWins(ov.entry.Seq, ov.gen, pv.entry.Seq, pv.gen) {
		return pv
	}
	return ov
}

// packWins is newer's rule for two versions of an entry: the pack's (pSeq, pGen) over the
// overlay's (oSeq, oGen).
func packWins(oSeq, oGen, pSeq, pGen uint64) bool {
	return pSeq > oSeq || pSeq == oSeq && pGen > oGen
}

// sweep is what a pull's end removes: entries at or below seq that it did not bring (no
// version marked gen), and tombstones at or below seq.
type sweep struct{ gen, seq uint64 }

func (sw *sweep) drops(ov, pv, e *version) bool {
	if sw == nil || e.entry.Seq > sw.seq {
		return false
	}
	brought := ov != nil && ov.gen == sw.gen || pv != nil && pv.gen == sw.gen
	return !brought || e.entry.Deleted()
}

// fold merges p's overlay and packs into a new pack generation (sweeping with sw when set),
// moves the live era on and deletes what the fold replaced. The caller holds rl, p's lock.
func (s *Store) fold(rl *replicaLock, p peer.ID, sw *sweep) error {
	rl.heard = false // a heartbeat's count from before the fold means nothing after it
	if err := s.cleanFold(p); err != nil {
		return err
	}
	var l replicaLayout
	if err := s.db.View(func(txn *badger.Txn) (err error) { l, err = getLayout(txn, p); return err }); err != nil {
		return err
	}
	gen := l.Packs + 1
	if err := s.dropPrefix(packPrefix(p, gen)); err != nil { // a fold that crashed before its switch
		return err
	}
	w := &packWriter{prefix: packPrefix(p, gen)}
	unpins := map[string][]byte{} // CID -> index value, of the entries that are unpins in flight
	flush := func(all bool) error {
		if all {
			w.cut()
		}
		if len(w.out) == 0 {
			return nil
		}
		out := w.take()
		// In parts when the packs exceed a transaction (a smaller memtable than the default).
		return s.updateInParts(len(out), func(txn *badger.Txn, from, to int) error {
			for _, p := range out[from:to] {
				if err := txn.Set(p.key, p.val); err != nil {
					return err
				}
			}
			return nil
		}, func(*badger.Txn) error { return nil })
	}
	err := s.db.View(func(txn *badger.Txn) error {
		return replicaWalk(txn, p, l, func(c []byte, ov, pv *version) error {
			e := newer(ov, pv)
			if sw.drops(ov, pv, e) {
				return nil
			}
			w.add(c, e.v)
			if e.entry.UnpinInFlight() {
				unpins[string(c)] = unpinIdxValue(e.entry)
			}
			if w.outBytes >= foldFlushBytes {
				return flush(false)
			}
			return nil
		})
	})
	if err == nil {
		err = flush(true)
	}
	if err != nil {
		return err
	}
	next := replicaLayout{Era: l.Era + 1, Packs: gen, Packed: w.count, Dirty: true, OldEra: l.Era, OldPacks: l.Packs}
	if err := s.update(func(txn *badger.Txn) error { return setLayout(txn, p, next) }); err != nil {
		return err
	}
	if err := s.reindexUnpins(p, unpins); err != nil {
		return err
	}
	return s.cleanFold(p)
}

// cleanFold deletes the era and pack generation the last fold of p replaced, unless done.
func (s *Store) cleanFold(p peer.ID) error {
	var l replicaLayout
	if err := s.db.View(func(txn *badger.Txn) (err error) { l, err = getLayout(txn, p); return err }); err != nil || !l.Dirty {
		return err
	}
	if err := s.dropPrefix(digestEraPrefix(p, l.OldEra)); err != nil {
		return err
	}
	if l.OldPacks != 0 {
		if err := s.dropPrefix(packPrefix(p, l.OldPacks)); err != nil {
			return err
		}
	}
	l.Dirty = false
	return s.update(func(txn *badger.Txn) error { return setLayout(txn, p, l) })
}

// reindexUnpins makes p's unpin index exactly unpins (binary CID -> index value).
func (s *Store) reindexUnpins(p peer.ID, unpins map[string][]byte) error {
	prefix := unpinPeerPrefix(p)
	var stale [][]byte
	if err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = prefix, false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if _, ok := unpins[string(it.Item().Key()[len(prefix):])]; !ok {
				stale = append(stale, it.Item().KeyCopy(nil))
			}
		}
		return nil
	}); err != nil {
		return err
	}
	writes := make([]kv, 0, len(stale)+len(unpins))
	for _, k := range stale {
		writes = append(writes, kv{key: k})
	}
	for c, v := range unpins {
		writes = append(writes, kv{unpinKey(p, []byte(c)), v})
	}
	return s.updateInParts(len(writes), func(txn *badger.Txn, from, to int) error {
		for _, w := range writes[from:to] {
			var err error
			if w.val == nil {
				err = txn.Delete(w.key)
			} else {
				err = txn.Set(w.key, w.val)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}, func(*badger.Txn) error { return nil })
}

// foldDue reports whether a replica, as l after an apply, is folded now: on size (as many
// overlay entries as packed ones, at least foldMin), or when a heartbeat finds it unchanged
// since the one before and its overlay is at least a sixteenth of its packs. A pass walks
// every overlay entry (and each of its versions) at Badger's speed and the packs at about a
// third of it. Folding on size at a doubling keeps a replica's rewrites to about twice its
// entries while a batch pours in (folding at an eighth rewrites it about nine times: a series
// growing by an eighth); the quiet fold then leaves a settled replica in packs, and a large
// one that stays busy rewrites an entry at most 16 times. The caller holds rl.mu.
func (rl *replicaLock) foldDue(l replicaLayout, heartbeat bool) bool {
	if l.Loose == 0 {
		rl.heard = false
		return false
	}
	if l.Loose >= foldMin && l.Loose >= l.Packed {
		return true
	}
	if !heartbeat { // a heartbeat carries no entries
		return false
	}
	seen, ok := rl.quiet, rl.heard
	rl.quiet, rl.heard = l.Loose, true
	return ok && seen == l.Loose && l.Loose*foldQuietRatio >= l.Packed
}

// replicaLock serialises the writers of one peer's replica (the applier, a pull, a removal:
// read-modify-writes, which Badger without conflict detection needs serialised), and holds
// its quiet count. Decision: one lock per replica, not one for all: a fold of a large replica
// takes seconds (1M entries), and then holds back this peer's own digest (ownDigestMu), a pull
// of another replica, and the other stores of a process (the in-process harnesses) no more.
// The applier still applies its batch in order, so a fold it runs delays the rest of its
// batch. Readers take no lock: a DigestView is a snapshot.
type replicaLock struct {
	mu    sync.Mutex
	quiet uint64 // the overlay's size at the peer's last heartbeat (foldDue)
	heard bool   // quiet is set
}

// lockReplica locks p's replica for writing; the caller unlocks rl.mu.
func (s *Store) lockReplica(p peer.ID) (rl *replicaLock) {
	s.replicaLocksMu.Lock()
	if rl = s.replicaLocks[p]; rl == nil {
		rl = &replicaLock{}
		s.replicaLocks[p] = rl
	}
	s.replicaLocksMu.Unlock()
	rl.mu.Lock()
	return rl
}

// keyPackedReplicas marks a store whose replicas are in the layout with packs: the keys of
// earlier versions (statusdigest.go) are gone.
var keyPackedReplicas = []byte("m/srlayout")

// dropOldReplicas deletes the replica keys of versions before packs: once per store, and again
// after an earlier version ran on it (its replica is stale then anyway; ours, also stale, is
// pulled again as soon as a heartbeat shows it behind).
func (s *Store) dropOldReplicas() error {
	var done bool
	if err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(keyPackedReplicas)
		if err != nil {
			if err == badger.ErrKeyNotFound {
				err = nil
			}
			return err
		}
		// An earlier version that opened the store since (a downgrade) marked its own index.
		_, err = txn.Get([]byte("m/sdunpins"))
		done = err == badger.ErrKeyNotFound
		if done {
			err = nil
		}
		return err
	}); err != nil || done {
		return err
	}
	for _, prefix := range [][]byte{[]byte("sd/"), []byte("sdm/"), []byte("sdu/")} {
		if err := s.dropPrefix(prefix); err != nil {
			return err
		}
	}
	return s.update(func(txn *badger.Txn) error {
		if err := txn.Delete([]byte("m/sdunpins")); err != nil {
			return err
		}
		return txn.Set(keyPackedReplicas, encU64(1))
	})
}
