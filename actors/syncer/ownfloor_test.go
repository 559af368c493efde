package syncer

import (
	"github.com/libp2p/go-libp2p/core/peer"
	"testing"
)

// A peer whose state was cleaned numbers its ops above the old ones (SetOwnFloor) while its
// version vector stays below them until they are pulled back; a pull from it still gets the
// ops it made since, which would otherwise reach the others by broadcast alone.
func TestAnswerServesOwnOpsAboveTheFloor(t *testing.T) {
	for _, tc := range []struct {
		name string
		self bool
		want int
	}{
		{"own ops above the gap served", true, 5},
		{"without WithSelf, up to the vector only", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.self {
				opts = append(opts, WithSelf(newPeer(t, 1))) // side 1's id
			}
			a := newSideTrusting(t, 1, DefaultPageSize, func(peer.ID) bool { return true }, opts...)
			b := newSide(t, 2, DefaultPageSize)
			connect(b, a)
			if err := a.store.SetOwnFloor(a.id, 100); err != nil {
				t.Fatal(err)
			}
			mustApply(t, a, pins(t, a.id, 101, 105))
			if vv, _ := a.store.VersionVector(); vv[a.id] != 0 {
				t.Fatalf("own vector entry %d, want 0 (the gap below the floor)", vv[a.id])
			}
			mustApply(t, b, pins(t, a.id, 1, 100)) // b held the old ops
			n, err := b.syncer.Pull(t.Context(), a.id)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.want {
				t.Fatalf("pulled %d ops, want %d", n, tc.want)
			}
		})
	}
}
