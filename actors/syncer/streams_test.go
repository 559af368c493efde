package syncer

import (
	"sync"
	"testing"
	"time"

	"github.com/pincluster/pincluster/crdt"
)

// While an origin streams by gossip, a pull takes only the holes before its last gossiped op;
// once the stream stopped, the tail too. Another origin is pulled as usual throughout.
func TestPullLeavesOutWhatTheGossipIsDelivering(t *testing.T) {
	a, b := newSide(t, 1, DefaultPageSize), newSide(t, 2, DefaultPageSize)
	connect(b, a)
	o1, o2 := newPeer(t, 10), newPeer(t, 11)
	var all []crdt.Op
	for seq := uint64(1); seq <= 20; seq++ {
		all = append(all, pinOp(t, o1, seq, mkCid(t, int(seq)), "s"))
	}
	mustApply(t, a, all)
	mustApply(t, a, history(t, o2, 1, 4, 100))
	// b holds o1's 1..3 and 6..8 (4 and 5 were lost); gossip handed it 8 a moment ago.
	mustApply(t, b, all[:3])
	mustApply(t, b, all[5:8])
	st := NewStreams()
	now := time.Unix(1700000000, 0)
	var mu sync.Mutex
	st.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st.Arrived(o1, 8)
	b.syncer.streams = st

	if _, err := b.syncer.Pull(t.Context(), a.id); err != nil {
		t.Fatal(err)
	}
	if last, _ := b.store.LastSeq(o1); last != 8 {
		t.Fatalf("while o1 streams, the pull took o1's ops up to %d, want the holes only (8)", last)
	}
	if vv, _ := b.store.VersionVector(); vv[o1] != 8 || vv[o2] == 0 {
		t.Fatalf("version vector %v: the holes 4,5 of o1 and all of o2 should have been pulled", vv)
	}
	// A reordered, older batch does not move the stream back.
	st.Arrived(o1, 6)
	if tails := st.tails(); len(tails) != 1 || tails[0].From != 9 {
		t.Fatalf("tails %+v, want one from 9", tails)
	}

	mu.Lock()
	now = now.Add(streamWindow)
	mu.Unlock()
	if _, err := b.syncer.Pull(t.Context(), a.id); err != nil {
		t.Fatal(err)
	}
	assertSame(t, a, b)
	if tails := st.tails(); len(tails) != 0 {
		t.Fatalf("a stopped stream still listed: %+v", tails)
	}
}
