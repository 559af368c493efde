package healer

// Taking a removed peer out of its pins waits for the start settle, as every sweep does (doc.go:
// "right after a start too few peers look alive"): a peer that was offline while b was
// removed learns the removal from its first anti-entropy round, seconds after its start, and
// reallocating then from the few peers heard so far dropped healthy holders not yet heard
// from (c, d here) from the allocations (found in review).

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/messages"
)

func TestVacateWaitsForStartSettle(t *testing.T) {
	_, pa, pb, pc, pd := namedPeers(t)
	f := newFakes(pinOf(t, 1, 2, 3, pb, pc, pd)) // c and d hold it: healthy without b
	f.self = pa
	f.ipfs[cidOf(t, 1).KeyString()] = true
	// Just started: only a and one other peer, e, have been heard from yet.
	var pe peer.ID
	for i := byte(100); pe == ""; i++ {
		if id := realPeer(t, i); id > pa && !slices.Contains([]peer.ID{pb, pc, pd}, id) {
			pe = id
		}
	}
	f.live = []peer.ID{pa, pe}
	f.removed = []peer.ID{pb}
	system, _, h := spawn(t, f, time.Hour, time.Hour) // Started now, Settle 1h: not settled
	system.Root.Send(h.PID(), messages.PeerRemoved{Peer: pb})
	deadline := time.After(2 * time.Second)
	for {
		select {
		case chs := <-f.commits:
			for _, ch := range chs {
				if ch.Pin.Cid.KeyString() != cidOf(t, 1).KeyString() {
					continue
				}
				lost := []peer.ID{}
				for _, p := range []peer.ID{pc, pd} {
					if !slices.Contains(ch.Pin.Allocations, p) {
						lost = append(lost, p)
					}
				}
				t.Fatalf("within Settle of the start the vacate reallocated pin 1 to %v (dropped healthy holders %v): the sweep waits Settle after a start for exactly this", ch.Pin.Allocations, lost)
			}
		case <-deadline:
			return
		}
	}
}
