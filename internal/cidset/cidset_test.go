package cidset

import (
	"fmt"
	"testing"
)

// The table finds what was added (the zero fingerprint included) and nothing else, across
// growth.
func TestFingerprints(t *testing.T) {
	s := New()
	for i := range 5000 {
		s.addFP(uint64(i) * 7919)
	}
	for i := range 5000 {
		if !s.hasFP(uint64(i) * 7919) {
			t.Fatalf("%d missing", i)
		}
		if i > 0 && s.hasFP(uint64(i)*7919+1) {
			t.Fatalf("%d+1 present", i)
		}
	}
	if s.Len() != 5000 {
		t.Fatalf("Len = %d, want 5000", s.Len())
	}
}

func TestKeys(t *testing.T) {
	s := New()
	for i := range 3000 {
		s.Add(fmt.Sprint("cid-", i))
	}
	for i := range 3000 {
		k := fmt.Sprint("cid-", i)
		if !s.Has([]byte(k)) || !s.HasString(k) {
			t.Fatalf("%s missing", k)
		}
		if s.HasString(fmt.Sprint("other-", i)) {
			t.Fatalf("other-%d present", i)
		}
	}
}

// A sized set holds its capacity (and an eighth more) in the table it was made with, then
// grows; fingerprints whose home is the last slot wrap around to the first.
func TestWithCapacity(t *testing.T) {
	const n = 10000
	s := WithCapacity(n)
	size := len(s.slots)
	for i := range n + n/8 - 1 {
		s.Add(fmt.Sprint("cid-", i))
	}
	if len(s.slots) != size {
		t.Fatalf("a set sized for %d grew from %d to %d slots at %d CIDs", n, size, len(s.slots), s.Len())
	}
	for i := range 2 * n {
		s.Add(fmt.Sprint("cid-", i))
	}
	if len(s.slots) == size || s.Len() != 2*n {
		t.Fatalf("%d slots for %d CIDs", len(s.slots), s.Len())
	}
	for i := range 2 * n {
		if !s.HasString(fmt.Sprint("cid-", i)) || s.HasString(fmt.Sprint("other-", i)) {
			t.Fatalf("cid-%d lost or other-%d present", i, i)
		}
	}

	w := WithCapacity(0)
	for i := range uint64(100) {
		w.addFP(^i) // home: the last slots
	}
	for i := range uint64(100) {
		if !w.hasFP(^i) || w.hasFP(^i-1000) {
			t.Fatalf("wrapped fingerprint %d lost, or another present", i)
		}
	}
	if w.slots[0] == 0 {
		t.Fatal("no fingerprint wrapped to the first slot")
	}
}
