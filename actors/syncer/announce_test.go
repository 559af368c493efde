package syncer

import (
	"context"
	"maps"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/messages"
)

// origins are n distinct peer IDs.
func origins(t testing.TB, n int) []peer.ID {
	out := make([]peer.ID, n)
	for i := range out {
		out[i] = newPeer(t, byte(100+i))
	}
	return out
}

// An announcement is whole when nothing was announced before or the vector is small, and
// otherwise names the entries that changed (0: gone), always with the whole vector's Sum.
func TestAnnouncement(t *testing.T) {
	os := origins(t, fullEntries+2)
	small := map[peer.ID]uint64{os[0]: 3}
	if a := announcement(map[peer.ID]uint64{os[0]: 2}, small); !a.Full || !maps.Equal(a.Entries, small) || a.Sum != crdt.VersionVector(small).Sum() {
		t.Fatalf("small vector: %+v", a)
	}
	large := map[peer.ID]uint64{}
	for i, o := range os {
		large[o] = uint64(i + 1)
	}
	if a := announcement(nil, large); !a.Full || len(a.Entries) != len(large) {
		t.Fatalf("first announcement: full %v, %d entries", a.Full, len(a.Entries))
	}
	next := maps.Clone(large)
	next[os[1]] = 50
	delete(next, os[2])
	a := announcement(large, next)
	want := map[peer.ID]uint64{os[1]: 50, os[2]: 0}
	if a.Full || !maps.Equal(a.Entries, want) || a.Sum != crdt.VersionVector(next).Sum() {
		t.Fatalf("delta: full %v entries %v", a.Full, a.Entries)
	}
	if a := announcement(next, next); a.Full || len(a.Entries) != 0 {
		t.Fatalf("heartbeat: full %v entries %v", a.Full, a.Entries)
	}
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
		os := origins(t, fullEntries+8) // large enough for changes to travel as deltas
		vv := map[peer.ID]uint64{}
		history := map[[crdt.SumSize]byte]bool{}
		record := func() { history[crdt.VersionVector(vv).Sum()] = true }
		var sent []messages.VersionAnnouncement
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
			a := announcement(last, vv)
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
			a := announcement(last, vv)
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
	os := origins(t, fullEntries+1)
	vv := map[peer.ID]uint64{}
	for i, o := range os {
		vv[o] = uint64(i + 1)
	}
	next := maps.Clone(vv)
	next[os[0]]++
	rx.syncer.Announced(member, announcement(vv, next))
	if _, ok := seenOf(t, rx.syncer, member); ok {
		t.Fatal("a change was taken without a copy to apply it to")
	}
	rx.syncer.Announced(member, announcement(nil, vv))
	first, ok := seenOf(t, rx.syncer, member)
	if !ok || !maps.Equal(first.VV, vv) {
		t.Fatalf("whole vector: %v %v", ok, first.VV)
	}
	time.Sleep(5 * time.Millisecond) // the refreshed copy's time must differ
	rx.syncer.Announced(member, announcement(vv, vv))
	beat, _ := seenOf(t, rx.syncer, member)
	if !beat.At.After(first.At) || !maps.Equal(beat.VV, vv) {
		t.Fatalf("a matching heartbeat did not refresh the copy: %v -> %v", first.At, beat.At)
	}
	rx.syncer.Announced(member, announcement(next, next)) // a heartbeat of a vector not held
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
	a := announcement(nil, map[peer.ID]uint64{member: 1})
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

// The announcer announces at start and on its timer; a change travels as a delta that a peer
// holding the previous vector applies.
func TestAnnouncerPublishes(t *testing.T) {
	tx := newSide(t, 1, 100)
	rx := newSide(t, 2, 100)
	pub := &announceRelay{to: rx.syncer, from: tx.id}
	an, err := SpawnAnnouncer(tx.system.Root, tx.store, pub, 20*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(an.Stop)
	c := mkCid(t, 1)
	if _, err := tx.store.Apply([]crdt.Op{pinOp(t, tx.id, 1, c, "a")}); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(10*time.Second, 10*time.Millisecond, func() bool {
		sv, ok := seenOf(t, rx.syncer, tx.id)
		return ok && sv.VV[tx.id] == 1
	}) {
		t.Fatal("the announced vector never reached the other peer")
	}
	if pub.n.Load() < 2 {
		t.Fatalf("%d announcements", pub.n.Load())
	}
}

// announceRelay hands what an announcer publishes to a syncer, as gossip would.
type announceRelay struct {
	to   *Syncer
	from peer.ID
	n    atomic.Int32
}

func (r *announceRelay) PublishVersions(_ context.Context, a messages.VersionAnnouncement) error {
	r.n.Add(1)
	r.to.Announced(r.from, a)
	return nil
}

// A round takes a member's announced vector as it takes a pulled one: the member is not
// pulled (here it cannot be reached), and the tombstones it has seen are collected. Without
// the announcement the unreachable member holds collection back.
func TestCollectionTakesAnnouncedVectors(t *testing.T) {
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
	s.members.see(w.id)
	if err := s.collector.CollectNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, kept, _ := s.store.Get(c); !kept {
		t.Fatal("collected without a version vector of the member")
	}
	vv, err := w.store.VersionVector()
	if err != nil {
		t.Fatal(err)
	}
	s.syncer.Announced(w.id, announcement(nil, vv))
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
	s := newCollectorSide(t, 0)
	w := newSide(t, 3, 100)
	c := mkCid(t, 1)
	ops := tombstoneOps(t, s.id, c)
	if err := s.writer.ApplyRemoteWait(t.Context(), ops); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.Apply(append(ops, pinOp(t, w.id, 1, mkCid(t, 2), "ahead"))); err != nil {
		t.Fatal(err)
	}
	s.link.target, s.link.only = w.system, w.id
	s.members.see(w.id)
	vv, err := w.store.VersionVector()
	if err != nil {
		t.Fatal(err)
	}
	s.syncer.Announced(w.id, announcement(nil, vv))
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
