package statusdigest

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestRateLimitPerPeer: a peer gets its burst at once and Rate per second after; a flooding
// peer does not take another's budget.
func TestRateLimitPerPeer(t *testing.T) {
	r := newReplicas(Config{Rate: 10, Burst: 5})
	flood, quiet := peer.ID("flood"), peer.ID("quiet")
	now := time.Unix(1000, 0)
	taken := 0
	for range 100 {
		if r.take(flood, now) {
			taken++
		}
	}
	if taken != 5 {
		t.Fatalf("a burst of 100 took %d, want the burst of 5", taken)
	}
	if !r.take(quiet, now) {
		t.Fatal("a quiet peer was limited by another's flood")
	}
	now = now.Add(time.Second)
	taken = 0
	for range 100 {
		if r.take(flood, now) {
			taken++
		}
	}
	if taken != 5 { // refilled 10, capped by the burst
		t.Fatalf("after a second took %d, want 5", taken)
	}
	now = now.Add(200 * time.Millisecond)
	if !r.take(flood, now) || !r.take(flood, now) || r.take(flood, now) {
		t.Fatal("200ms at 10/s should allow exactly 2")
	}
}
