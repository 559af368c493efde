package persistence

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/bbloom"
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
//   - Hash keys are random per process (bbloom.NewWithKeys), so CIDs chosen by a client
//     cannot be crafted to collide and fill the filter.
type keyFilter struct {
	mu      sync.RWMutex
	filters []*bbloom.Bloom // oldest first; adds go to the last
	bits    uint64          // size of the last filter
	added   uint64          // keys added to the last filter
	total   uint64          // bits of all the filters
	k0, k1  uint64
	ready   atomic.Bool // the stored keys are all in (load)
	// firstBits is the first filter's size, for reset.
	firstBits uint64
}

const (
	// Ten bits and seven hash locations per key: about 1% false positives at capacity.
	keyFilterBitsPerKey = 10
	keyFilterLocs       = 7
	minKeyFilterBits    = 1 << 20 // the first filter of a small store: 128 KiB, 100k keys
	// maxKeyFilterBits: no filter is chained past this total (32 MiB, about 25M keys).
	maxKeyFilterBits = 256 << 20
)

func newKeyFilter(expected uint64) (*keyFilter, error) {
	var seed [16]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("persistence: pin key filter seed: %w", err)
	}
	f := &keyFilter{k0: binary.LittleEndian.Uint64(seed[:8]), k1: binary.LittleEndian.Uint64(seed[8:])}
	bits := uint64(minKeyFilterBits)
	for bits < 2*expected*keyFilterBitsPerKey && bits < maxKeyFilterBits {
		bits *= 2
	}
	if err := f.chain(bits); err != nil {
		return nil, err
	}
	f.firstBits = bits
	return f, nil
}

// chain adds a filter of bits (a power of two); the caller holds mu or owns f.
func (f *keyFilter) chain(bits uint64) error {
	b, err := bbloom.NewWithKeys(f.k0, f.k1, float64(bits), keyFilterLocs)
	if err != nil {
		return fmt.Errorf("persistence: pin key filter: %w", err)
	}
	f.filters = append(f.filters, b)
	f.bits, f.added = bits, 0
	f.total += bits
	return nil
}

// reset empties f and makes it unready (every key may be stored) until its next load.
func (f *keyFilter) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ready.Store(false)
	f.filters, f.total = nil, 0
	_ = f.chain(f.firstBits) // a valid power-of-two size cannot fail
}

// mayHave reports whether key may be stored; false is certain.
func (f *keyFilter) mayHave(key []byte) bool {
	if !f.ready.Load() {
		return true
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for i := len(f.filters) - 1; i >= 0; i-- {
		if f.filters[i].Has(key) {
			return true
		}
	}
	return false
}

// add records key; a writer calls it before the write that stores key commits.
func (f *keyFilter) add(key []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.added >= f.bits/keyFilterBitsPerKey && f.total+2*f.bits <= maxKeyFilterBits {
		// A valid power-of-two size cannot fail; if it did, the last filter keeps filling.
		_ = f.chain(2 * f.bits)
	}
	f.filters[len(f.filters)-1].Add(key)
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
