// Package cidset is a compact set of binary CIDs for one pass over a large pinset: the roots
// pinned on the IPFS node, or the tracker's items in flight. It keeps 64-bit fingerprints in
// an open-addressing hash table (linear probing, at most half full): 16 bytes a CID, no
// allocation per CID, about one cache miss per lookup, so ten million pins cost 160 MB at most
// for the pass and nothing after it.
//
// A fingerprint can collide (about n/2^64 per lookup); every Set has its own random seed, so a
// collision does not repeat on the next pass. Users take a false "present" as harmless for one
// pass: status shows a pin as pinned until the next listing, a sweep re-checks it next time.
package cidset

import "hash/maphash"

// Set is a set of CIDs by fingerprint. The zero value is not usable; call New.
type Set struct {
	seed  maphash.Seed
	slots []uint64 // fingerprint 0 marks an empty slot
	mask  uint64
	zero  bool // the one CID whose fingerprint is 0 is kept aside
	n     int
}

// New returns an empty set.
func New() *Set {
	s := &Set{seed: maphash.MakeSeed(), slots: make([]uint64, 1024)}
	s.mask = uint64(len(s.slots) - 1)
	return s
}

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

func (s *Set) addFP(fp uint64) {
	if fp == 0 {
		s.zero = true
		return
	}
	if 2*(s.n+1) > len(s.slots) {
		old := s.slots
		s.slots, s.n = make([]uint64, 2*len(old)), 0
		s.mask = uint64(len(s.slots) - 1)
		for _, v := range old {
			if v != 0 {
				s.addFP(v)
			}
		}
	}
	for i := fp & s.mask; ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case fp:
			return
		case 0:
			s.slots[i] = fp
			s.n++
			return
		}
	}
}

func (s *Set) hasFP(fp uint64) bool {
	if fp == 0 {
		return s.zero
	}
	for i := fp & s.mask; ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case fp:
			return true
		case 0:
			return false
		}
	}
}
