package crdt

import (
	"maps"
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

// An announcement is whole when nothing was announced before, and otherwise names the
// entries that changed (0: gone), always with the whole vector's Sum.
func TestAnnounce(t *testing.T) {
	os := make([]peer.ID, 5)
	for i := range os {
		os[i] = testpeer.ID(t, byte(10+i))
	}
	vv := VersionVector{}
	for i, o := range os {
		vv[o] = uint64(i + 1)
	}
	if a := Announce(nil, vv); !a.Full || !maps.Equal(a.Entries, vv) || a.Sum != vv.Sum() {
		t.Fatalf("first announcement: %+v", a)
	}
	next := maps.Clone(vv)
	next[os[1]] = 50
	delete(next, os[2])
	a := Announce(vv, next)
	want := map[peer.ID]uint64{os[1]: 50, os[2]: 0}
	if a.Full || !maps.Equal(a.Entries, want) || a.Sum != next.Sum() {
		t.Fatalf("changes: full %v entries %v", a.Full, a.Entries)
	}
	if a := Announce(next, next); a.Full || len(a.Entries) != 0 || a.Sum != next.Sum() {
		t.Fatalf("no change: full %v entries %v", a.Full, a.Entries)
	}
}
