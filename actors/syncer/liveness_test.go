package syncer

import (
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// An anti-entropy answer carries the responder's last-heard times; the requester learns them
// as ages, none later than its own clock.
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
	// Read as an age at the responder's clock: the same time, give or take the answer's trip
	// (and the millisecond of the wire form).
	if d := got[alive].Sub(heardAt); d < -time.Millisecond || d > time.Second {
		t.Fatalf("learned %v for the live member, want about %v (all: %v)", got[alive], heardAt, got)
	}
	if at, ok := got[ahead]; !ok || at.After(time.Now()) {
		t.Fatalf("a time ahead of the requester's clock was learned as %v (present %v), want at most now", at, ok)
	}
}

// The wire form skips what is not a peer ID; times become ages at the responder's clock, or
// (from an older peer, no clock sent) are capped at now.
func TestDecodeHeard(t *testing.T) {
	id := newPeer(t, 4)
	now := time.UnixMilli(1_764_000_000_000)
	got := decodeHeard(map[string]uint64{id.String(): 1 << 63, "not-a-peer": 5}, 0, now)
	if len(got) != 1 || !got[id].Equal(now) {
		t.Fatalf("decoded %v, want only %s at %v", got, id, now)
	}
	back := decodeHeard(encodeHeard(map[peer.ID]time.Time{id: now.Add(-time.Second)}), 0, now)
	if !back[id].Equal(now.Add(-time.Second)) {
		t.Fatalf("round trip gave %v", back)
	}
	// A responder an hour ahead heard the member 10 s before it answered: 10 s ago here.
	ahead := now.Add(time.Hour)
	aged := decodeHeard(encodeHeard(map[peer.ID]time.Time{id: ahead.Add(-10 * time.Second)}), uint64(ahead.UnixMilli()), now)
	if !aged[id].Equal(now.Add(-10 * time.Second)) {
		t.Fatalf("from a clock an hour ahead: %v, want %v", aged[id], now.Add(-10*time.Second))
	}
	// An age beyond any horizon (and time.Duration) is dropped.
	if old := decodeHeard(map[string]uint64{id.String(): 0}, 1<<63, now); len(old) != 0 {
		t.Fatalf("an age of 2^63 ms was read as %v", old)
	}
	// A time after the responder's own clock is an age of zero.
	future := decodeHeard(map[string]uint64{id.String(): uint64(ahead.UnixMilli()) + 5000}, uint64(ahead.UnixMilli()), now)
	if !future[id].Equal(now) {
		t.Fatalf("a time past the responder's clock: %v, want %v", future[id], now)
	}
}
