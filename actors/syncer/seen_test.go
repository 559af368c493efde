package syncer

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The seen table is the actor's: what a pull notes is read back in order, copies are the
// reader's own, and Forget drops an entry.
func TestSeenTableMessages(t *testing.T) {
	s := newSide(t, 1, 10)
	p, q := newPeer(t, 2), newPeer(t, 3)
	s.syncer.noteVV(p, map[peer.ID]uint64{p: 3})
	s.syncer.noteVV(q, map[peer.ID]uint64{p: 1, q: 9})
	s.syncer.noteVV(p, map[peer.ID]uint64{p: 5})
	seen := mustSeen(t, s)
	if len(seen) != 2 || seen[p].VV[p] != 5 || seen[q].VV[q] != 9 || seen[p].At.IsZero() {
		t.Fatalf("seen %+v", seen)
	}
	seen[p].VV[p] = 100 // a copy: the actor's table is unchanged
	if again := mustSeen(t, s); again[p].VV[p] != 5 {
		t.Fatalf("the reader's copy changed the table: %+v", again)
	}
	s.syncer.Forget(p)
	if again := mustSeen(t, s); len(again) != 1 || again[q].VV[q] != 9 {
		t.Fatalf("after Forget: %+v", again)
	}
}
