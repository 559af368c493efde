package persistence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// The unpin index of the replicas (sdu/ keys, statusdigest.go has the layout): which entries
// of the other peers' digests are unpins in flight, for the global listings (cluster/unpins.go).

// unpinIdxValue is the index value of the unpin entry e: its status.
func unpinIdxValue(e statusdigest.Entry) []byte { return binary.AppendUvarint(nil, uint64(e.Status)) }

// indexUnpin keeps the unpin index in step with the replica entry key, now e: was tells
// whether the entry replaced was an unpin in flight. An unpin is indexed again whatever it
// replaced, with its status (unpinning, then failed, say).
func indexUnpin(txn *badger.Txn, key []byte, was bool, e statusdigest.Entry) error {
	switch {
	case e.UnpinInFlight():
		return txn.Set(unpinIdxKey(key), unpinIdxValue(e))
	case was:
		return txn.Delete(unpinIdxKey(key))
	}
	return nil
}

// Unpins calls fn with each binary CID (valid during fn) whose entry in p's replica is an
// unpin in flight (queued, running or failed), and that status, in binary CID order, from
// the unpin index. An error from fn ends the walk with it.
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
		var st uint64
		if err := it.Item().Value(func(val []byte) error {
			var n int
			if st, n = binary.Uvarint(val); n <= 0 || st > math.MaxUint32 {
				return fmt.Errorf("persistence: corrupt status digest unpin index entry")
			}
			return nil
		}); err != nil {
			return err
		}
		if err := fn(it.Item().Key()[len(prefix):], api.TrackerStatus(st)); err != nil {
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
	type write struct{ key, val []byte } // val nil: delete
	var writes []write
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
	// walk calls fn with every key under prefix and its entry's CID (nil: a key too short
	// to hold one), flushing the writes fn queues as they reach a batch.
	walk := func(prefix []byte, fn func(txn *badger.Txn, item *badger.Item, c []byte) error) error {
		err := s.db.View(func(txn *badger.Txn) error {
			opts := badger.DefaultIteratorOptions
			opts.Prefix = prefix
			it := txn.NewIterator(opts)
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				rest := it.Item().Key()[len(prefix):] // <len(peer)><peer><cid>
				var c []byte
				if len(rest) > 0 && len(rest) > 1+int(rest[0]) {
					c = rest[1+int(rest[0]):]
				}
				if err := fn(txn, it.Item(), c); err != nil {
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
		err = walk(prefixDigest, func(_ *badger.Txn, item *badger.Item, c []byte) error {
			if c == nil {
				return nil
			}
			_, e, err := itemDigestEntry(item, c)
			if err != nil || !e.UnpinInFlight() {
				return err
			}
			indexed++
			writes = append(writes, write{unpinIdxKey(item.KeyCopy(nil)), unpinIdxValue(e)})
			return nil
		})
	}
	if err == nil {
		err = walk(prefixDigestUnpin, func(txn *badger.Txn, item *badger.Item, c []byte) error {
			entry := append(append([]byte{}, prefixDigest...), item.Key()[len(prefixDigestUnpin):]...)
			var live bool
			var st []byte
			if c != nil {
				_, e, found, err := getDigestEntry(txn, entry, c)
				if err != nil {
					return err
				}
				live, st = found && e.UnpinInFlight(), unpinIdxValue(e)
			}
			switch {
			case !live:
				writes = append(writes, write{key: item.KeyCopy(nil)})
			default:
				if v, err := item.ValueCopy(nil); err != nil {
					return err
				} else if !bytes.Equal(v, st) {
					writes = append(writes, write{item.KeyCopy(nil), st})
				}
			}
			return nil
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
