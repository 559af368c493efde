package persistence

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/greatroar/blobloom"
)

// Pin keys filter: an in-memory Bloom filter of every pin key (p/<cid>) the store holds or has
// written since it was opened, so that looking up a CID it never saw costs no Badger read.
//
// Why: in a batch ingest nearly every CID is new, and each peer read its record once to merge
// it (mergeRecord) and the ingesting peer once more to skip what is already pinned
// (Snapshot.GetPins). A miss searches every memtable's skiplist and the level tables' own
// filters: about 5 us, 12-20% of each peer's CPU in a 3-peer ingest. The filter answers
// "certainly absent" in a fraction of a microsecond; "maybe present" falls back to the read.
//
// Decisions:
//   - A key is added before the write that creates it commits, so a reader that finds it
//     absent from the filter cannot miss a committed record (a snapshot older than the add
//     sees no record either). Records are never removed from it: a dropped tombstone stays
//     "maybe present", which costs one read, never a wrong answer.
//   - Loaded after Open by a key-only scan of the pin records, in a worker of the store
//     (started by Open, cancelled and joined by Close): the scan of 1M pin keys took 1.2-2.7 s,
//     too long to hold a restart for. Until it ends every key "may be stored", as if there
//     were no filter; keys written meanwhile are added as always.
//   - Memory is bounded whatever the pinset: filters are chained, each twice the size of the
//     previous one and filled to 10 bits per key (about 1% false positives), and none is
//     chained past 32 MiB in all (about 25M keys); past that the last filter fills up and
//     more lookups fall back to Badger, as they all did before the filter existed.
//   - Blocked filters (blobloom: a key's bits all lie in one 512-bit block): a lookup costs
//     one cache miss per chained filter, and a key is hashed once for all of them. The
//     earlier filters (bbloom) hashed the key again for each filter and probed seven random
//     words of each: at 10M keys that was eight filters and a third of a fresh peer's
//     snapshot merge (measured 2026-12-03, 4.6 s of 11.8 s in mergeRecord).
//   - The hash is seeded at random per process (hash/maphash), so CIDs chosen by a client
//     cannot be crafted to collide and fill the filter.
type keyFilter struct {
	mu      sync.RWMutex
	filters []*blobloom.Filter // oldest first; adds go to the last
	bits    uint64             // size of the last filter
	added   uint64             // keys added to the last filter
	total   uint64             // bits of all the filters
	seed    maphash.Seed
	ready   atomic.Bool // the stored keys are all in (load)
	// firstBits is the first filter's size, for reset.
	firstBits uint64
}

const (
	// Ten bits and seven hash locations per key: about 1% false positives at capacity (1.2%
	// with the locations in one block).
	keyFilterBitsPerKey = 10
	keyFilterLocs       = 7
	minKeyFilterBits    = 1 << 20 // the first filter of a small store: 128 KiB, 100k keys
	// maxKeyFilterBits: no filter is chained past this total (32 MiB, about 25M keys).
	maxKeyFilterBits = 256 << 20
)

func newKeyFilter(expected uint64) *keyFilter {
	f := &keyFilter{seed: maphash.MakeSeed()}
	bits := uint64(minKeyFilterBits)
	for bits < 2*expected*keyFilterBitsPerKey && bits < maxKeyFilterBits {
		bits *= 2
	}
	f.chain(bits)
	f.firstBits = bits
	return f
}

// chain adds a filter of bits (a power of two, a whole number of blocks); the caller holds
// mu or owns f.
func (f *keyFilter) chain(bits uint64) {
	f.filters = append(f.filters, blobloom.New(bits, keyFilterLocs))
	f.bits, f.added = bits, 0
	f.total += bits
}

// hash is key's hash, for mayHaveHash and addHash.
func (f *keyFilter) hash(key []byte) uint64 { return maphash.Bytes(f.seed, key) }

// reset empties f and makes it unready (every key may be stored) until its next load.
func (f *keyFilter) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ready.Store(false)
	f.filters, f.total = nil, 0
	f.chain(f.firstBits)
}

// mayHave reports whether key may be stored; false is certain.
func (f *keyFilter) mayHave(key []byte) bool {
	return !f.ready.Load() || f.mayHaveHash(f.hash(key)) // no hash while it loads
}

// mayHaveHash is mayHave of the key whose hash is h.
func (f *keyFilter) mayHaveHash(h uint64) bool {
	if !f.ready.Load() {
		return true
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for i := len(f.filters) - 1; i >= 0; i-- {
		if f.filters[i].Has(h) {
			return true
		}
	}
	return false
}

// add records key; a writer calls it before the write that stores key commits.
func (f *keyFilter) add(key []byte) { f.addHash(f.hash(key)) }

// addHash is add of the key whose hash is h.
func (f *keyFilter) addHash(h uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.added >= f.bits/keyFilterBitsPerKey && f.total+2*f.bits <= maxKeyFilterBits {
		f.chain(2 * f.bits)
	}
	f.filters[len(f.filters)-1].Add(h)
	f.added++
}

// memory is the filters' size in bytes.
func (f *keyFilter) memory() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.total / 8
}

// load reads the stored pin keys (live records and tombstones) into f, then makes f answer;
// until then every key may be stored. It stops early, leaving f unready, when ctx ends or
// the read fails (lookups then keep reading Badger: slower, never wrong).
func (f *keyFilter) load(ctx context.Context, db *badger.DB) error {
	err := db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = prefixPin
		it := txn.NewIterator(o)
		defer it.Close()
		n := 0
		for it.Rewind(); it.Valid(); it.Next() {
			if n++; n%ctxCheckEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			f.add(it.Item().Key())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("persistence: reading the pin keys: %w", err)
	}
	f.ready.Store(true)
	return nil
}
