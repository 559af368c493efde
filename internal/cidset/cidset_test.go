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
