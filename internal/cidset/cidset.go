// Package cidset is a compact set of binary CIDs for one pass over a large pinset: the roots
// pinned on the IPFS node, or the tracker's items in flight. It keeps 64-bit fingerprints in
// an open-addressing hash table (linear probing): no allocation per CID, about one cache miss
// per lookup, and nothing kept after the pass.
//
// Size: a set made with the number of CIDs it will hold (WithCapacity; the tracker knows its
// queue's length) is allocated once at 12 bytes a CID (two thirds full); a set of unknown size
// doubles as it grows, at most three quarters full, so 11-21 bytes a CID and, while it
// doubles, the old table too. Ten million queued pins cost 120 MB for a sized pass; they cost
// 256 MB when every set was a power of two at most half full, and the healer's state sync and
// the status digest's pass, which can run at once, each held one.
//
// A fingerprint can collide (about n/2^64 per lookup); every Set has its own random seed, so a
// collision does not repeat on the next pass. Users take a false "present" as harmless for one
// pass: status shows a pin as pinned until the next listing, a sweep re-checks it next time.
package cidset

import (
	"hash/maphash"
	"math/bits"
)

// Set is a set of CIDs by fingerprint. The zero value is not usable; call New or WithCapacity.
type Set struct {
	seed  maphash.Seed
	slots []uint64 // fingerprint 0 marks an empty slot; any length (fastrange picks the slot)
	zero  bool     // the one CID whose fingerprint is 0 is kept aside
	n     int
}

// minSlots is the table of an empty set.
const minSlots = 1024

// New returns an empty set that grows as CIDs are added.
func New() *Set { return newSet(minSlots) }

// WithCapacity returns an empty set sized for n CIDs: it holds them without growing (and an
// eighth more), two thirds full.
func WithCapacity(n int) *Set { return newSet(max(minSlots, n+n/2)) }

func newSet(slots int) *Set { return &Set{seed: maphash.MakeSeed(), slots: make([]uint64, slots)} }

// Add adds the CID whose binary form (api.Cid.KeyString) is key.
func (s *Set) Add(key string) { s.addFP(maphash.String(s.seed, key)) }

// Has reports whether the CID whose binary form is key was added.
func (s *Set) Has(key []byte) bool { return s.hasFP(maphash.Bytes(s.seed, key)) }

// HasString is Has for a key held as a string.
func (s *Set) HasString(key string) bool { return s.hasFP(maphash.String(s.seed, key)) }

// Len is the number of CIDs added (colliding ones count once).
func (s *Set) Len() int {
	if s.zero {
		return s.n + 1
	}
	return s.n
}

// slot is fp's home slot: the high word of fp times the table's length (fastrange), so the
// table needs no power-of-two length.
func (s *Set) slot(fp uint64) int {
	hi, _ := bits.Mul64(fp, uint64(len(s.slots)))
	return int(hi)
}

func (s *Set) addFP(fp uint64) {
	if fp == 0 {
		s.zero = true
		return
	}
	if 4*(s.n+1) > 3*len(s.slots) {
		old := s.slots
		s.slots, s.n = make([]uint64, 2*len(old)), 0
		for _, v := range old {
			if v != 0 {
				s.addFP(v)
			}
		}
	}
	for i := s.slot(fp); ; {
		switch s.slots[i] {
		case fp:
			return
		case 0:
			s.slots[i] = fp
			s.n++
			return
		}
		if i++; i == len(s.slots) {
			i = 0
		}
	}
}

func (s *Set) hasFP(fp uint64) bool {
	if fp == 0 {
		return s.zero
	}
	for i := s.slot(fp); ; {
		switch s.slots[i] {
		case fp:
			return true
		case 0:
			return false
		}
		if i++; i == len(s.slots) {
			i = 0
		}
	}
}
