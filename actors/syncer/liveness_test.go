package syncer

import (
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// An anti-entropy answer carries the responder's last-heard times; the requester learns them,
// none later than its own clock.
func TestLivenessTravelsWithAntiEntropy(t *testing.T) {
	trustAll := func(peer.ID) bool { return true }
	alive, ahead := newPeer(t, 9), newPeer(t, 10)
	heardAt := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	r := newSideTrusting(t, 1, 10, trustAll, WithLiveness(func() map[peer.ID]time.Time {
		return map[peer.ID]time.Time{alive: heardAt, ahead: time.Now().Add(time.Hour)}
	}, nil))
	var mu sync.Mutex
	var got map[peer.ID]time.Time
	q := newSideTrusting(t, 2, 10, trustAll, WithLiveness(nil, func(h map[peer.ID]time.Time) {
		mu.Lock()
		got = h
		mu.Unlock()
	}))
	connect(q, r)
	if _, err := q.syncer.Pull(t.Context(), r.id); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !got[alive].Equal(heardAt) {
		t.Fatalf("learned %v for the live member, want %v (all: %v)", got[alive], heardAt, got)
	}
	if at, ok := got[ahead]; !ok || at.After(time.Now()) {
		t.Fatalf("a time ahead of the requester's clock was learned as %v (present %v), want at most now", at, ok)
	}
}

// The wire form skips what is not a peer ID and caps times at now.
func TestDecodeHeard(t *testing.T) {
	id := newPeer(t, 4)
	now := time.UnixMilli(1_764_000_000_000)
	got := decodeHeard(map[string]uint64{id.String(): 1 << 63, "not-a-peer": 5}, now)
	if len(got) != 1 || !got[id].Equal(now) {
		t.Fatalf("decoded %v, want only %s at %v", got, id, now)
	}
	back := decodeHeard(encodeHeard(map[peer.ID]time.Time{id: now.Add(-time.Second)}), now)
	if !back[id].Equal(now.Add(-time.Second)) {
		t.Fatalf("round trip gave %v", back)
	}
}
