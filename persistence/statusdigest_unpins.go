package persistence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// The unpin index of the replicas (sru/ keys, statusdigest.go has the layout): which entries
// of the other peers' digests are unpins in flight, for the global listings (cluster/unpins.go).

// unpinIdxValue is the index value of the unpin entry e: its status.
func unpinIdxValue(e statusdigest.Entry) []byte { return binary.AppendUvarint(nil, uint64(e.Status)) }

// indexUnpin indexes the overlay entry e under idx when it is an unpin in flight (again
// whatever it replaced, with its status: unpinning, then failed, say). Keys are never deleted
// here: an entry is the newer of its overlay and pack versions, and the overlay alone cannot
// tell whether a pack's unpin still stands. So the index holds every unpin in flight and,
// until the next fold (reindexUnpins) or open (indexDigestUnpins), some that ended; Unpins
// checks each key against its entry.
func indexUnpin(txn *badger.Txn, idx []byte, e statusdigest.Entry) error {
	if e.UnpinInFlight() {
		return txn.Set(idx, unpinIdxValue(e))
	}
	return nil
}

// Unpins calls fn with each binary CID (valid during fn) whose entry in p's replica is an
// unpin in flight (queued, running or failed), and that status, in binary CID order, from
// the unpin index, each key checked against its entry. An error from fn ends the walk with it.
func (v *DigestView) Unpins(p peer.ID, fn func(c []byte, st api.TrackerStatus) error) error {
	if v.txn == nil {
		return ErrClosed
	}
	prefix := unpinPeerPrefix(p)
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.PrefetchValues = prefix, false
	it := v.txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		c := it.Item().Key()[len(prefix):]
		e, found, err := v.Lookup(p, c)
		if err != nil {
			return err
		}
		if !found || !e.UnpinInFlight() {
			continue
		}
		if err := fn(c, e.Status); err != nil {
			return err
		}
	}
	return nil
}

// indexDigestUnpins builds the unpin index of the replicas unless the store says it is
// complete (a store of an earlier version, a loaded backup): one pass over the replica
// entries, at open. Then, at every open, one pass over the index itself (its few keys) drops
// or corrects a key whose entry is no longer that unpin: a backup loaded into a store that
// held some, or entries an earlier version changed after a downgrade, whose rows would
// otherwise stay in the listings with every part unpinned. (Unpins such a version wrote are
// indexed when their entry next changes.) Decision: the build runs before the store is handed
// out, like the format check: a store of 10M pins replicated 3 times holds 30M entries, tens
// of seconds once.
func (s *Store) indexDigestUnpins() error {
	var done bool
	if err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(keyDigestUnpinsIdx)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		done = err == nil
		return err
	}); err != nil {
		return err
	}
	start := time.Now()
	var writes []kv // val nil: delete
	flush := func() error {
		if len(writes) == 0 { // no write at an open with nothing to do (the disk guard's reading is the first write's)
			return nil
		}
		err := s.update(func(txn *badger.Txn) error {
			for _, w := range writes {
				if w.val == nil {
					if err := txn.Delete(w.key); err != nil {
						return err
					}
				} else if err := txn.Set(w.key, w.val); err != nil {
					return err
				}
			}
			return nil
		})
		writes = writes[:0]
		return err
	}
	// walk calls fn with every key under prefix and the peer and CID it names (nil: a key
	// too short to hold them), flushing the writes fn queues as they reach a batch, and end
	// when done.
	walk := func(prefix []byte, fn func(txn *badger.Txn, item *badger.Item, p peer.ID, c []byte) error, end func()) error {
		err := s.db.View(func(txn *badger.Txn) error {
			defer end() // before the snapshot is discarded: Badger wants its iterators closed
			opts := badger.DefaultIteratorOptions
			opts.Prefix = prefix
			it := txn.NewIterator(opts)
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				rest := it.Item().Key()[len(prefix):] // <len(peer)><peer><cid>
				var p peer.ID
				var c []byte
				if len(rest) > 0 && len(rest) > 1+int(rest[0]) {
					p, c = peer.ID(rest[1:1+int(rest[0])]), rest[1+int(rest[0]):]
				}
				if err := fn(txn, it.Item(), p, c); err != nil {
					return err
				}
				if len(writes) >= digestDeleteBatch {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return flush()
	}
	indexed := 0
	var err error
	if !done {
		err = s.db.View(func(txn *badger.Txn) error {
			// Every replica has a meta or a layout (a first page cut short has the layout of
			// its parts only).
			peers := map[peer.ID]bool{}
			for _, prefix := range [][]byte{prefixDigestMeta, prefixDigestLayout} {
				opts := badger.DefaultIteratorOptions
				opts.Prefix, opts.PrefetchValues = prefix, false
				it := txn.NewIterator(opts)
				for it.Rewind(); it.Valid(); it.Next() {
					peers[peer.ID(it.Item().Key()[len(prefix):])] = true
				}
				it.Close()
			}
			for p := range peers {
				l, err := getLayout(txn, p)
				if err != nil {
					return err
				}
				if err := replicaWalk(txn, p, l, func(c []byte, ov, pv *version) error {
					if e := newer(ov, pv); e.entry.UnpinInFlight() {
						indexed++
						writes = append(writes, kv{unpinKey(p, c), unpinIdxValue(e.entry)})
					}
					return nil
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
	}
	if err == nil {
		var view *DigestView // the walk's snapshot, read in index order: each peer's cursors go forward
		err = walk(prefixDigestUnpin, func(txn *badger.Txn, item *badger.Item, p peer.ID, c []byte) error {
			var live bool
			var st []byte
			if c != nil {
				if view == nil {
					view = &DigestView{txn: txn, iters: map[peer.ID]*viewIter{}}
				}
				e, found, err := view.Lookup(p, c)
				if err != nil {
					return err
				}
				live, st = found && e.UnpinInFlight(), unpinIdxValue(e)
			}
			switch {
			case !live:
				writes = append(writes, kv{key: item.KeyCopy(nil)})
			default:
				if v, err := item.ValueCopy(nil); err != nil {
					return err
				} else if !bytes.Equal(v, st) {
					writes = append(writes, kv{item.KeyCopy(nil), st})
				}
			}
			return nil
		}, func() {
			if view != nil {
				view.closeIters()
			}
		})
	}
	if err == nil && !done {
		err = s.update(func(txn *badger.Txn) error { return txn.Set(keyDigestUnpinsIdx, encU64(1)) })
	}
	if took := time.Since(start); err == nil && took > time.Second {
		s.log.Info("persistence: indexed the other peers' unpins in the status digest replicas", "unpins", indexed, "took", took.Round(time.Millisecond))
	}
	return err
}
