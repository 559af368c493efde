package syncer

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// soloMembership is a cluster of one peer that trusts every origin.
type soloMembership struct{ self peer.ID }

func (m soloMembership) Visible(context.Context) []peer.ID { return []peer.ID{m.self} }
func (soloMembership) Trusted(peer.ID) bool                { return true }
func (soloMembership) Removed(peer.ID) bool                { return false }

type collectorSide struct {
	id        peer.ID
	store     *persistence.Store
	writer    *pinset.Pinset
	collector *Collector
}

func newCollectorSide(t *testing.T, interval time.Duration) *collectorSide {
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
	s, err := Spawn(system.Root, st, &link{}, writer, func(peer.ID) bool { return true }, log)
	if err != nil {
		t.Fatal(err)
	}
	cfg := CollectorConfig{Self: self, Interval: interval, Fresh: time.Minute, Horizon: time.Hour}
	c, err := SpawnCollector(system.Root, cfg, st, writer, s, soloMembership{self}, log)
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
	return &collectorSide{id: self, store: st, writer: writer, collector: c}
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

// A member silent beyond the horizon is excluded and collection goes on; a member whose recent
// ops reached this peer through others (a PinsetChanged event) is alive, and collection waits
// for its version vector instead.
func TestCollectorSignsOfLife(t *testing.T) {
	for _, alive := range []bool{false, true} {
		s := newCollectorSide(t, 0)
		ctx := t.Context()
		other := newPeer(t, 2)
		if err := s.store.TouchMember(other, time.Now().Add(-2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		c := mkCid(t, 1)
		if err := s.writer.ApplyRemoteWait(ctx, []crdt.Op{pinOp(t, s.id, 1, c, "a"), unpinOp(s.id, 2, c)}); err != nil {
			t.Fatal(err)
		}
		if alive {
			recent := crdt.Op{Origin: other, Seq: 1, Clock: crdt.MakeHLC(time.Now().UnixMilli(), 0), Kind: crdt.OpUnpin, Cid: mkCid(t, 2)}
			s.collector.Changed(messages.PinsetChanged{Ops: []crdt.Op{recent}})
		}
		if err := s.collector.CollectNow(ctx); err != nil {
			t.Fatal(err)
		}
		_, kept, _ := s.store.Get(c)
		ex, _ := s.store.Exclusions()
		_, excluded := ex[other]
		if alive && (!kept || excluded) {
			t.Fatalf("a member with recent ops was excluded (tombstone kept %v, excluded %v)", kept, excluded)
		}
		if !alive && (kept || !excluded) {
			t.Fatalf("a silent member held collection back (tombstone kept %v, excluded %v)", kept, excluded)
		}
	}
}
