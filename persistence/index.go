package persistence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/pincluster/pincluster/api"
)

// Secondary indexes of live pins, kept in the transaction that writes the pin's record:
//
//	xn/ lower(name) 0x00 cid           -> empty   (pins by name, any case)
//	xm/ key 0x00 value 0x00 cid        -> empty   (pins by metadata pair)
//	xr/, xq/                           -> empty   (pinning service requests: requests.go)
//
// Pins without a name or metadata, most of them, add nothing. A lookup reads the keys under
// its prefix and then the records they name; the caller checks each pin against its whole
// query, so a name or metadata holding 0x00 (which could make one prefix look like another)
// costs a wasted read, never a wrong answer. The index is complete once m/indexed is set: at
// creation, or after RebuildIndexes for a store of an earlier version (`state upgrade`).
var (
	prefixNameIdx = []byte("xn/")
	prefixMetaIdx = []byte("xm/")
	keyIndexed    = []byte("m/indexed")
)

// indexVersion is the layout of the index keys (xn/, xm/, and the pinning service's xr/ and
// xq/ since version 2), stored under m/indexed: a store marked with another version is
// reindexed by `state upgrade`.
const indexVersion = 2

func nameIdxPrefix(name string) []byte {
	k := make([]byte, 0, len(prefixNameIdx)+len(name)+1)
	k = append(k, prefixNameIdx...)
	k = append(k, strings.ToLower(name)...)
	return append(k, 0)
}

func metaIdxPrefix(key, value string) []byte {
	k := make([]byte, 0, len(prefixMetaIdx)+len(key)+len(value)+2)
	k = append(k, prefixMetaIdx...)
	k = append(k, key...)
	k = append(k, 0)
	k = append(k, value...)
	return append(k, 0)
}

// indexKeys are the index keys of a live pin with this JSON; nil for a pin with neither name
// nor metadata, or JSON that does not decode (records are validated before they are stored).
func indexKeys(cid []byte, pinJSON []byte) [][]byte {
	f, err := api.PinFieldsOf(pinJSON)
	if err != nil || (f.Name == "" && len(f.Metadata) == 0) {
		return nil
	}
	keys := make([][]byte, 0, 1+len(f.Metadata))
	if f.Name != "" {
		keys = append(keys, append(nameIdxPrefix(f.Name), cid...))
	}
	for k, v := range f.Metadata {
		keys = append(keys, append(metaIdxPrefix(k, v), cid...))
	}
	return append(keys, requestIndexKeys(cid, f.Metadata)...) // requests.go
}

// updateIndexes replaces a record's index keys (old, of the record replaced) with new ones.
func updateIndexes(txn *badger.Txn, old, new [][]byte) error {
	if len(old) == 0 && len(new) == 0 {
		return nil
	}
	for _, k := range old {
		if !containsKey(new, k) {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
	}
	for _, k := range new {
		if !containsKey(old, k) {
			if err := txn.Set(k, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// Indexed reports whether the indexes are complete (see RebuildIndexes).
func (s *Store) Indexed() bool { return s.indexed.Load() }

// ErrNotIndexed is returned by the lookups of a store whose indexes were never built.
var ErrNotIndexed = api.ErrNotIndexed

// LookupName calls fn with the live pins whose name equals name ignoring case, from the
// index, in one consistent snapshot; callers check the exact query. pinJSON is only valid
// during fn.
func (s *Store) LookupName(ctx context.Context, name string, fn func(cid, pinJSON []byte) error) error {
	return s.lookup(ctx, nameIdxPrefix(name), fn)
}

// LookupMeta calls fn with the live pins whose metadata holds key=value, from the index.
func (s *Store) LookupMeta(ctx context.Context, key, value string, fn func(cid, pinJSON []byte) error) error {
	return s.lookup(ctx, metaIdxPrefix(key, value), fn)
}

func (s *Store) lookup(ctx context.Context, prefix []byte, fn func(cid, pinJSON []byte) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if !s.indexed.Load() {
		return ErrNotIndexed
	}
	return s.db.View(func(txn *badger.Txn) error {
		return iterateTxn(ctx, txn, prefix, prefix, func(key, _ []byte) error {
			cid := key[len(prefix):]
			item, err := txn.Get(pinKeyOf(cid))
			if errors.Is(err, badger.ErrKeyNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			return item.Value(func(v []byte) error {
				if js := pinJSONOf(v); js != nil {
					return fn(cid, js)
				}
				return nil
			})
		})
	})
}

// RebuildIndexes drops the index keys and writes them again from every live record, in
// bounded transactions, then marks the store indexed. It runs with the writers held off, for
// `state upgrade` on a stopped peer; a crash part way leaves the store unmarked and the next
// run starts over.
func (s *Store) RebuildIndexes(ctx context.Context) (indexedPins int, err error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.indexed.Store(false)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyIndexed) }); err != nil {
		return 0, fmt.Errorf("persistence: rebuild indexes: %w", err)
	}
	for _, prefix := range [][]byte{prefixNameIdx, prefixMetaIdx, prefixReqIdx, prefixReqID} {
		if err := s.db.DropPrefix(prefix); err != nil {
			return 0, fmt.Errorf("persistence: rebuild indexes: dropping %s: %w", prefix, err)
		}
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err = s.iterate(ctx, prefixPin, func(key, v []byte) error {
		js := pinJSONOf(v)
		if js == nil {
			return nil
		}
		keys := indexKeys(key[len(prefixPin):], js)
		if len(keys) > 0 {
			indexedPins++
		}
		for _, k := range keys {
			if err := wb.Set(k, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = wb.Flush()
	}
	if err == nil {
		err = s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyIndexed, encU64(indexVersion)) })
	}
	if err != nil {
		return indexedPins, fmt.Errorf("persistence: rebuild indexes: %w", err)
	}
	s.indexed.Store(true)
	return indexedPins, nil
}
