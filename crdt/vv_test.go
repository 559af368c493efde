package crdt

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/internal/testpeer"
)

// Sum is the same for equal vectors (a zero entry counts as none) and differs otherwise,
// including when only the pairing of origins and seqs differs.
func TestVersionVectorSum(t *testing.T) {
	a, b := testpeer.ID(t, 1), testpeer.ID(t, 2)
	same := []VersionVector{{a: 1, b: 2}, {b: 2, a: 1}, {a: 1, b: 2, testpeer.ID(t, 3): 0}}
	for _, v := range same[1:] {
		if v.Sum() != same[0].Sum() {
			t.Fatalf("%v and %v: different sums", v, same[0])
		}
	}
	for _, v := range []VersionVector{{a: 2, b: 1}, {a: 1}, {a: 1, b: 3}, {}, nil} {
		if v.Sum() == same[0].Sum() {
			t.Fatalf("%v has the sum of %v", v, same[0])
		}
	}
	if (VersionVector{}).Sum() != VersionVector(map[peer.ID]uint64{a: 0}).Sum() {
		t.Fatal("an empty vector and one of zero entries differ")
	}
}
