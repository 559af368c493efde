package syncer

import (
	"maps"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// origins are n distinct peer IDs.
func origins(t testing.TB, n int) []peer.ID {
	out := make([]peer.ID, n)
	for i := range out {
		out[i] = newPeer(t, byte(100+i))
	}
	return out
}

// seenOf is what the syncer's seen table holds of id.
func seenOf(t *testing.T, s *Syncer, id peer.ID) (SeenVV, bool) {
	t.Helper()
	seen, err := s.SeenVVs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sv, ok := seen[id]
	return sv, ok
}

// Property: whatever announcements are lost, repeated or reordered, and whatever pulls record
// meanwhile, the copy of a member's vector is always exactly a vector the member had (never a
// mix of two instants, which could let collection drop a tombstone too early); and once a
// pull of the current vector is followed by announcements delivered in order, the copy
// follows the member's vector.
func TestAnnouncedCopiesAreSnapshots(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		rx := newSideTrusting(t, 1, 100, func(peer.ID) bool { return true }, WithoutAnnounceLimit())
		member := newPeer(t, 2)
		os := origins(t, 40)
		vv := map[peer.ID]uint64{}
		history := map[[crdt.SumSize]byte]bool{}
		record := func() { history[crdt.VersionVector(vv).Sum()] = true }
		var sent []crdt.VVAnnouncement
		var last map[peer.ID]uint64
		for range 60 {
			for range rng.IntN(4) { // the member's vector grows (and at times loses an origin)
				o := os[rng.IntN(len(os))]
				if rng.IntN(10) == 0 {
					delete(vv, o)
				} else {
					vv[o] += uint64(1 + rng.IntN(3))
				}
			}
			record()
			a := crdt.Announce(last, vv)
			last = maps.Clone(vv)
			sent = append(sent, a)
			switch r := rng.IntN(10); {
			case r < 5: // delivered now
				rx.syncer.Announced(member, a)
			case r < 7: // lost
			case r < 9: // an older one delivered late (reordered, or repeated)
				rx.syncer.Announced(member, sent[rng.IntN(len(sent))])
			default: // a pull records the member's vector as it is now
				rx.syncer.noteVV(member, maps.Clone(vv))
			}
			if sv, ok := seenOf(t, rx.syncer, member); ok && !history[crdt.VersionVector(sv.VV).Sum()] {
				t.Fatalf("seed %d: the copy %v is no vector the member had", seed, sv.VV)
			}
		}
		rx.syncer.noteVV(member, maps.Clone(vv))
		for range 5 {
			for range 3 {
				vv[os[rng.IntN(len(os))]]++
			}
			a := crdt.Announce(last, vv)
			last = maps.Clone(vv)
			rx.syncer.Announced(member, a)
		}
		if sv, _ := seenOf(t, rx.syncer, member); !maps.Equal(sv.VV, vv) {
			t.Fatalf("seed %d: in-order announcements after a pull: copy %v, want %v", seed, sv.VV, vv)
		}
	}
}

// A heartbeat that matches the copy refreshes it; one that does not leaves it as it was; a
// change announced to a peer that holds no copy is not taken.
func TestAnnouncedHeartbeats(t *testing.T) {
	rx := newSide(t, 1, 100)
	member := newPeer(t, 2)
	os := origins(t, 5)
	vv := map[peer.ID]uint64{}
	for i, o := range os {
		vv[o] = uint64(i + 1)
	}
	next := maps.Clone(vv)
	next[os[0]]++
	rx.syncer.Announced(member, crdt.Announce(vv, next))
	if _, ok := seenOf(t, rx.syncer, member); ok {
		t.Fatal("a change was taken without a copy to apply it to")
	}
	rx.syncer.Announced(member, crdt.Announce(nil, vv))
	first, ok := seenOf(t, rx.syncer, member)
	if !ok || !maps.Equal(first.VV, vv) {
		t.Fatalf("whole vector: %v %v", ok, first.VV)
	}
	// Received a second later (set here: a refresh must be told from no change).
	rx.system.Root.Send(rx.syncer.pid, &vvAnnounced{from: member, a: crdt.Announce(vv, vv), at: first.At.Add(time.Second)})
	beat, _ := seenOf(t, rx.syncer, member)
	if !beat.At.After(first.At) || !maps.Equal(beat.VV, vv) {
		t.Fatalf("a matching heartbeat did not refresh the copy: %v -> %v", first.At, beat.At)
	}
	rx.syncer.Announced(member, crdt.Announce(next, next)) // a heartbeat of a vector not held
	if got, _ := seenOf(t, rx.syncer, member); !got.At.Equal(beat.At) || !maps.Equal(got.VV, vv) {
		t.Fatalf("a heartbeat of another vector changed the copy: %v", got.VV)
	}
}

// A peer that announces too often is rate-limited: past the burst, its announcements are
// dropped, signs of life included.
func TestAnnouncementsAreRateLimited(t *testing.T) {
	var alive atomic.Int32
	rx := newSideTrusting(t, 1, 100, func(peer.ID) bool { return true }, WithAnnouncements(func(peer.ID) { alive.Add(1) }))
	member := newPeer(t, 2)
	a := crdt.Announce(nil, map[peer.ID]uint64{member: 1})
	for range 10 * announceBurst {
		rx.syncer.Announced(member, a)
	}
	if _, err := rx.syncer.SeenVVs(t.Context()); err != nil { // a round trip: the announcements were handled
		t.Fatal(err)
	}
	if n := alive.Load(); n < announceBurst || n > 2*announceBurst {
		t.Fatalf("%d announcements taken of %d sent at once (burst %d)", n, 10*announceBurst, announceBurst)
	}
}

// A round takes a member's announced vector as it takes a pulled one: the member is not
// pulled (here it cannot be reached; this peer had an anti-entropy answer, so its rounds need
// none), and the tombstones it has seen are collected. Without
// the announcement the unreachable member holds collection back.
func TestCollectionTakesAnnouncedVectors(t *testing.T) {
	s, w, c := tombstoneSides(t)
	s.members.see(w.id)
	if err := s.collector.CollectNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, kept, _ := s.store.Get(c); !kept {
		t.Fatal("collected without a version vector of the member")
	}
	announceTo(t, s, w)
	s.collector.Heard(w.id) // an anti-entropy answer: this peer may judge, and needs no answer of its rounds
	before := s.link.requests.Load()
	if err := s.collector.CollectNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, kept, _ := s.store.Get(c); kept {
		t.Fatal("the tombstone the member announced it has seen was not collected")
	}
	if n := s.link.requests.Load() - before; n != 0 {
		t.Fatalf("the round pulled %d times from a member whose vector was announced", n)
	}
}

// A member whose announced vector holds ops this peer lacks is pulled (the pull fetches them),
// and collection goes on after it.
func TestCollectionPullsAMemberAnnouncedAhead(t *testing.T) {
	s, w, c := tombstoneSides(t)
	if _, err := w.store.Apply([]crdt.Op{pinOp(t, w.id, 1, mkCid(t, 2), "ahead")}); err != nil {
		t.Fatal(err)
	}
	s.link.target, s.link.only = w.system, w.id
	s.members.see(w.id)
	announceTo(t, s, w)
	if err := s.collector.CollectNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.link.requests.Load() == 0 {
		t.Fatal("the member announced ops this peer lacks and was not pulled")
	}
	if _, found, _ := s.store.GetPin(mkCid(t, 2)); !found {
		t.Fatal("the pull did not fetch the member's op")
	}
	if _, kept, _ := s.store.Get(c); kept {
		t.Fatal("the tombstone was not collected after the pull")
	}
}

// tombstoneSides are a collecting peer s and a member w, both holding a pin of c by s and its
// unpin (a tombstone every member has seen).
func tombstoneSides(t *testing.T) (*collectorSide, *side, api.Cid) {
	t.Helper()
	s := newCollectorSide(t, 0)
	w := newSide(t, 3, 100)
	c := mkCid(t, 1)
	ops := tombstoneOps(t, s.id, c)
	if err := s.writer.ApplyRemoteWait(t.Context(), ops); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.Apply(ops); err != nil {
		t.Fatal(err)
	}
	return s, w, c
}

// announceTo hands s the whole version vector of w, as w's first heartbeat would.
func announceTo(t *testing.T, s *collectorSide, w *side) {
	t.Helper()
	vv, err := w.store.VersionVector()
	if err != nil {
		t.Fatal(err)
	}
	s.syncer.Announced(w.id, crdt.Announce(nil, vv))
}
