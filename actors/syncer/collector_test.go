package syncer

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// testMembership is a cluster that trusts every origin, of this peer and the peers `others`
// says are visible (none: a peer alone).
type testMembership struct {
	self   peer.ID
	others atomic.Pointer[[]peer.ID]
}

func (m *testMembership) Visible(context.Context) []peer.ID {
	out := []peer.ID{m.self}
	if o := m.others.Load(); o != nil {
		out = append(out, *o...)
	}
	return out
}
func (*testMembership) Trusted(peer.ID) bool { return true }
func (*testMembership) Removed(peer.ID) bool { return false }

// see makes ids the visible peers besides this one.
func (m *testMembership) see(ids ...peer.ID) { m.others.Store(&ids) }

type collectorSide struct {
	id        peer.ID
	store     *persistence.Store
	writer    *pinset.Pinset
	collector *Collector
	syncer    *Syncer
	members   *testMembership
	link      *link
}

func newCollectorSide(t *testing.T, interval time.Duration) *collectorSide {
	t.Helper()
	return newCollectorSideHorizon(t, interval, time.Hour)
}

func newCollectorSideHorizon(t *testing.T, interval, horizon time.Duration) *collectorSide {
	t.Helper()
	st, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	system := actor.NewActorSystem()
	log := slog.New(slog.DiscardHandler)
	self := newPeer(t, 1)
	writer, err := pinset.Spawn(system.Root, self, st, crdt.NewClock(nil), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	l := &link{}
	s, err := Spawn(system.Root, st, l, writer, func(peer.ID) bool { return true }, log)
	if err != nil {
		t.Fatal(err)
	}
	members := &testMembership{self: self}
	cfg := CollectorConfig{Self: self, Interval: interval, Fresh: time.Minute, Horizon: horizon}
	c, err := SpawnCollector(system.Root, cfg, st, writer, nil, s, members, log)
	if err != nil {
		t.Fatal(err)
	}
	st.SetRacedHandler(c.RacedPins)
	t.Cleanup(func() {
		c.Stop()
		s.Stop()
		writer.Stop()
		system.Shutdown()
		st.Close()
	})
	return &collectorSide{id: self, store: st, writer: writer, collector: c, syncer: s, members: members, link: l}
}

// A peer alone collects its tombstones when asked, through the pinset actor.
func TestCollectorCollectsWhenAsked(t *testing.T) {
	s := newCollectorSide(t, 0)
	ctx := t.Context()
	c := mkCid(t, 1)
	if err := s.writer.ApplyRemoteWait(ctx, []crdt.Op{pinOp(t, s.id, 1, c, "a"), unpinOp(s.id, 2, c)}); err != nil {
		t.Fatal(err)
	}
	if err := s.collector.CollectNow(ctx); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.store.Get(c); found {
		t.Fatal("the tombstone was not collected")
	}
	if tr, _ := s.store.TrimmedTo(s.id); tr != 2 {
		t.Fatalf("op log trimmed to %d, want 2", tr)
	}
}

// Rounds come on the timer message too.
func TestCollectorRoundsOnTimer(t *testing.T) {
	s := newCollectorSide(t, 20*time.Millisecond)
	c := mkCid(t, 1)
	if err := s.writer.ApplyRemoteWait(t.Context(), []crdt.Op{pinOp(t, s.id, 1, c, "a"), unpinOp(s.id, 2, c)}); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(10*time.Second, 10*time.Millisecond, func() bool { _, found, _ := s.store.Get(c); return !found }) {
		t.Fatal("no round collected the tombstone")
	}
}

// A member heard from is recorded once per throttle period.
func TestCollectorRecordsMembersHeard(t *testing.T) {
	s := newCollectorSide(t, 0)
	other := newPeer(t, 2)
	s.collector.Heard(other)
	s.collector.Heard(s.id) // self is never a recorded member
	if !poll.Until(10*time.Second, 10*time.Millisecond, func() bool {
		ms, _ := s.store.Members()
		_, ok := ms[other]
		return ok
	}) {
		t.Fatal("the member heard from was not recorded")
	}
	ms, _ := s.store.Members()
	first := ms[other]
	s.collector.Heard(other)
	if err := s.collector.CollectNow(t.Context()); err != nil { // a round trip through the actor
		t.Fatal(err)
	}
	if ms, _ := s.store.Members(); !ms[other].Equal(first) || len(ms) != 1 {
		t.Fatalf("members %v: want %s once, at %v", ms, other, first)
	}
}

// A pin of an excluded member not after its watermark, on a CID without a record, raced a
// collected deletion: the store's handler hands it to the collector, which unpins it.
func TestCollectorSupersedesRacedPins(t *testing.T) {
	s := newCollectorSide(t, 0)
	other := newPeer(t, 2)
	c := mkCid(t, 1)
	op := pinOp(t, other, 1, c, "raced")
	if err := s.store.ExcludeMember(other, op.Clock+1); err != nil {
		t.Fatal(err)
	}
	if err := s.writer.ApplyRemoteWait(t.Context(), []crdt.Op{op}); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(10*time.Second, 10*time.Millisecond, func() bool { _, found, _ := s.store.GetPin(c); return !found }) {
		t.Fatal("the raced pin was not superseded")
	}
}

// A member's pins applied before it was excluded raced nothing: a collection round leaves
// them pinned. Rounds once scanned every record of an excluded member not after its
// watermark and unpinned them all, cluster-wide, after a peer was away for the horizon.
func TestCollectorKeepsPinsAppliedBeforeExclusion(t *testing.T) {
	s := newCollectorSide(t, 0)
	other := newPeer(t, 2)
	old, raced := mkCid(t, 1), mkCid(t, 2)
	first := pinOp(t, other, 1, old, "applied before the exclusion")
	if err := s.writer.ApplyRemoteWait(t.Context(), []crdt.Op{first}); err != nil {
		t.Fatal(err)
	}
	late := pinOp(t, other, 2, raced, "raced")
	if err := s.store.ExcludeMember(other, late.Clock+1); err != nil {
		t.Fatal(err)
	}
	if err := s.writer.ApplyRemoteWait(t.Context(), []crdt.Op{late}); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(10*time.Second, 10*time.Millisecond, func() bool { _, found, _ := s.store.GetPin(raced); return !found }) {
		t.Fatal("the raced pin was not superseded")
	}
	for range 2 {
		if err := s.collector.CollectNow(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if _, found, _ := s.store.GetPin(old); !found {
		t.Fatal("a pin applied before its origin was excluded was unpinned by a collection round")
	}
}

// inContact makes s a peer in touch with the cluster whose silence judgements may start: a
// witness is visible and reachable, and holds the ops of s that s holds (so the witness holds
// collection back for nothing). The first round sees the witness and pulls it; until a member
// has answered, a peer judges nobody's silence, so that round neither excludes `silent` nor
// collects.
func inContact(t *testing.T, s *collectorSide, silent peer.ID, c api.Cid) *side {
	t.Helper()
	w := newSide(t, 3, 100)
	if _, err := w.store.Apply(tombstoneOps(t, s.id, c)); err != nil {
		t.Fatal(err)
	}
	s.link.target, s.link.only = w.system, w.id
	s.members.see(w.id)
	if err := s.collector.CollectNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if kept, excluded := judged(t, s, silent, c); !kept || excluded {
		t.Fatalf("a peer no member had answered yet judged a silent member (tombstone kept %v, excluded %v)", kept, excluded)
	}
	return w
}

// tombstoneOps pin then unpin c, as origin.
func tombstoneOps(t *testing.T, origin peer.ID, c api.Cid) []crdt.Op {
	return []crdt.Op{pinOp(t, origin, 1, c, "a"), unpinOp(origin, 2, c)}
}

// judged reports whether c's tombstone is still held and whether id was excluded.
func judged(t *testing.T, s *collectorSide, id peer.ID, c api.Cid) (kept, excluded bool) {
	t.Helper()
	_, kept, err := s.store.Get(c)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := s.store.Exclusions()
	if err != nil {
		t.Fatal(err)
	}
	_, excluded = ex[id]
	return kept, excluded
}

// newSilentMember gives s a tombstone and a member last heard from 2 h ago.
func newSilentMember(t *testing.T) (*collectorSide, peer.ID, api.Cid) {
	t.Helper()
	s := newCollectorSide(t, 0)
	other := newPeer(t, 2)
	if err := s.store.TouchMember(other, time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := mkCid(t, 1)
	if err := s.writer.ApplyRemoteWait(t.Context(), tombstoneOps(t, s.id, c)); err != nil {
		t.Fatal(err)
	}
	return s, other, c
}

// A member silent beyond the horizon is excluded and collection goes on, once a member has
// answered this peer (a fresh one too: no wait after a start). A member whose recent ops
// reached this peer through others (a PinsetChanged event), or that a responder heard from
// recently (relayed), is alive, and collection waits for it.
func TestCollectorSignsOfLife(t *testing.T) {
	for _, sign := range []string{"none", "ops", "relayed"} {
		t.Run(sign, func(t *testing.T) {
			s, other, c := newSilentMember(t)
			inContact(t, s, other, c)
			switch sign {
			case "ops":
				recent := crdt.Op{Origin: other, Seq: 1, Clock: crdt.MakeHLC(time.Now().UnixMilli(), 0), Kind: crdt.OpUnpin, Cid: mkCid(t, 2)}
				s.collector.Changed(messages.PinsetChanged{Ops: []crdt.Op{recent}})
			case "relayed":
				s.collector.Relayed(map[peer.ID]time.Time{other: time.Now().Add(-10 * time.Minute)})
			}
			if err := s.collector.CollectNow(t.Context()); err != nil {
				t.Fatal(err)
			}
			kept, excluded := judged(t, s, other, c)
			if alive := sign != "none"; alive && (!kept || excluded) {
				t.Fatalf("a member with a recent sign of life was excluded (tombstone kept %v, excluded %v)", kept, excluded)
			} else if !alive && (kept || !excluded) {
				t.Fatalf("a silent member held collection back (tombstone kept %v, excluded %v)", kept, excluded)
			}
		})
	}
}

// A peer that sees no other member cannot tell their absence from its own isolation: it
// excludes nobody, and once back judges again only after a member answered it (bringing that
// member's signs of life), however long it has been in touch with others meanwhile.
func TestCollectorJudgesSilenceOnlyInContact(t *testing.T) {
	s, other, c := newSilentMember(t)
	ctx := t.Context()
	collect := func(when string) {
		t.Helper()
		if err := s.collector.CollectNow(ctx); err != nil {
			t.Fatal(err)
		}
		if kept, excluded := judged(t, s, other, c); !kept || excluded {
			t.Fatalf("%s: a silent member was excluded (tombstone kept %v, excluded %v)", when, kept, excluded)
		}
	}
	collect("alone from the start")
	w := inContact(t, s, other, c)
	s.members.see() // cut off
	collect("cut off")
	// Back, the witness's version vector still fresh, but the witness does not answer yet:
	// each round tries to pull it for the answer judging needs, and judges nobody meanwhile.
	s.members.see(w.id)
	s.link.only = newPeer(t, 9)
	before := s.link.requests.Load()
	collect("back, no answer yet")
	collect("back, still no answer")
	if s.link.requests.Load() == before {
		t.Fatal("a round that may not judge did not try to pull a member for an answer")
	}
	s.collector.Heard(w.id) // an anti-entropy answer
	if err := s.collector.CollectNow(ctx); err != nil {
		t.Fatal(err)
	}
	if kept, excluded := judged(t, s, other, c); kept || !excluded {
		t.Fatalf("after an answer, the silent member still held collection back (tombstone kept %v, excluded %v)", kept, excluded)
	}
}

// A peer that may not judge yet gets its answer from its own round: the round pulls a member
// although its announced version vector is fresh, and the next round judges. (Without that
// pull, a peer whose anti-entropy pulls never reach a trusted member would never judge again.)
func TestCollectorRoundPullsForAnAnswer(t *testing.T) {
	s, other, c := newSilentMember(t)
	w := newSide(t, 3, 100)
	if _, err := w.store.Apply(tombstoneOps(t, s.id, c)); err != nil {
		t.Fatal(err)
	}
	announceTo(t, s, w) // fresh: no pull would be due for it
	s.link.target, s.link.only = w.system, w.id
	s.members.see(w.id)
	if err := s.collector.CollectNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.link.requests.Load() == 0 {
		t.Fatal("the round did not pull for an answer")
	}
	if kept, excluded := judged(t, s, other, c); !kept || excluded {
		t.Fatalf("the round judged before any answer (tombstone kept %v, excluded %v)", kept, excluded)
	}
	if err := s.collector.CollectNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if kept, excluded := judged(t, s, other, c); kept || !excluded {
		t.Fatalf("after the round's answer, the silent member still held collection back (tombstone kept %v, excluded %v)", kept, excluded)
	}
}

// Only observations are relayed: the placeholder time recorded for an origin this peer holds
// ops of but never heard from is not a sign of life of it.
func TestCollectorRelaysOnlyObservations(t *testing.T) {
	s := newCollectorSide(t, 0)
	never := newPeer(t, 4)
	if err := s.writer.ApplyRemoteWait(t.Context(), []crdt.Op{pinOp(t, never, 1, mkCid(t, 5), "n")}); err != nil {
		t.Fatal(err)
	}
	heard := newPeer(t, 5)
	s.collector.Heard(heard)
	if err := s.collector.CollectNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ms, _ := s.store.Members(); ms[never].IsZero() {
		t.Fatalf("members %v: the origin never met is not recorded", ms)
	}
	signs := s.collector.SignsOfLife()
	if _, ok := signs[never]; ok || signs[heard].IsZero() {
		t.Fatalf("signs of life %v: want %s (answered) and not %s (never heard from)", signs, heard, never)
	}
}

// A relay speaks only of members this peer knows: a responder cannot grow its members table
// (with trusted_peers "*", every peer ID is trusted), while a known member's relayed time is
// taken (here an origin of ops this peer holds, which its pinset's change event made known).
// SignsOfLife is the guard: the members table is written off the actor's goroutine.
func TestCollectorRelaysAddNoMembers(t *testing.T) {
	s := newCollectorSide(t, 0)
	origin := newPeer(t, 4)
	op := pinOp(t, origin, 1, mkCid(t, 5), "n") // made in 2023
	if err := s.writer.ApplyRemoteWait(t.Context(), []crdt.Op{op}); err != nil {
		t.Fatal(err)
	}
	s.collector.Changed(messages.PinsetChanged{Ops: []crdt.Op{op}}) // as the pinset tells it
	heard := newPeer(t, 5)
	s.collector.Heard(heard) // known from now on: it answered
	stranger := newPeer(t, 6)
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	s.collector.Relayed(map[peer.ID]time.Time{stranger: at, heard: time.Now().Add(-time.Hour), origin: at})
	if err := s.collector.CollectNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ms, _ := s.store.Members(); !ms[stranger].IsZero() {
		t.Fatalf("members %v: a relayed stranger was recorded", ms)
	}
	signs := s.collector.SignsOfLife()
	if _, ok := signs[stranger]; ok {
		t.Fatalf("signs of life %v: a relayed stranger is in them", signs)
	}
	if !signs[origin].Equal(at) {
		t.Fatalf("signs of life %v: the relayed time of %s (an origin of stored ops, not met) is not %v", signs, origin, at)
	}
}

// A sleep shows as wall-clock time the monotonic clock did not count; small differences
// (clock slew, scheduling) do not.
func TestSuspended(t *testing.T) {
	for _, tc := range []struct {
		wall, mono, horizon time.Duration
		want                bool
	}{
		{time.Hour, time.Second, 24 * time.Hour, true},
		{5 * time.Minute, 5 * time.Minute, 24 * time.Hour, false},
		{5*time.Minute + 10*time.Second, 5 * time.Minute, 24 * time.Hour, false},
		{3 * time.Second, time.Second, time.Second, true},
		{time.Second, 2 * time.Second, time.Second, false},
	} {
		if got := suspended(tc.wall, tc.mono, tc.horizon); got != tc.want {
			t.Errorf("suspended(wall %s, mono %s, horizon %s) = %v, want %v", tc.wall, tc.mono, tc.horizon, got, tc.want)
		}
	}
}
