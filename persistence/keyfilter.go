package persistence

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"

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
//   - Built at Open by a key-only scan of the pin records (no values read); measured in
//     keyfilter_test's benchmark and in the package doc.
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

// mayHave reports whether key may be stored; false is certain.
func (f *keyFilter) mayHave(key []byte) bool {
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

// loadKeyFilter builds the filter from the stored pin keys (live records and tombstones),
// sized for expected keys.
func loadKeyFilter(db *badger.DB, expected uint64) (*keyFilter, error) {
	f, err := newKeyFilter(expected)
	if err != nil {
		return nil, err
	}
	err = db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = prefixPin
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			f.add(it.Item().Key())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("persistence: reading the pin keys: %w", err)
	}
	return f, nil
}
