package pinset

import (
	"errors"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// A pinset behind its own-seq mark, with members to hear from, refuses local changes until a
// member says how far it holds this peer's ops, then numbers after the mark; the writer saves
// the mark every markEvery own ops and, exactly, when the actor stops.
func TestBehindTheMarkHoldsChangesUntilToldAndKeepsTheMark(t *testing.T) {
	store := &memStore{last: map[peer.ID]uint64{}}
	self := testPeer(t)
	var mu sync.Mutex
	var saved []uint64
	save := func(seq uint64) error {
		mu.Lock()
		saved = append(saved, seq)
		mu.Unlock()
		return nil
	}
	p, err := Spawn(actor.NewActorSystem().Root, self, store, crdt.NewClock(nil), nil, nil,
		WithOwnSeq(OwnSeqMark{Floor: 40, Gate: true, Save: save}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Commit(t.Context(), messages.Change{Kind: crdt.OpPin, Pin: testPin(1)}); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("a change behind the mark: %v, want ErrUnavailable", err)
	}
	p.OwnSeqSeen(25) // a member holds fewer than the mark: numbering goes on after the mark
	changes := make([]messages.Change, markEvery)
	for i := range changes {
		changes[i] = messages.Change{Kind: crdt.OpPin, Pin: testPin(i)}
	}
	ops, err := p.Commit(t.Context(), changes...)
	if err != nil {
		t.Fatal(err)
	}
	if ops[0].Seq != 41 {
		t.Fatalf("first seq after the hold %d, want 41 (after the mark)", ops[0].Seq)
	}
	last := ops[len(ops)-1].Seq
	if _, err := p.Commit(t.Context(), messages.Change{Kind: crdt.OpUnpin, Pin: testPin(0)}); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	mu.Lock()
	defer mu.Unlock()
	if len(saved) != 2 || saved[0] != last || saved[1] != last+1 {
		t.Fatalf("marks saved %v, want %d (markEvery ops on) then %d (at the stop)", saved, last, last+1)
	}
}

// Without members to hear from (a cluster of one), a pinset behind its mark takes changes at
// once: nobody else holds its ops.
func TestBehindTheMarkAloneTakesChanges(t *testing.T) {
	store := &memStore{last: map[peer.ID]uint64{}}
	p, err := Spawn(actor.NewActorSystem().Root, testPeer(t), store, crdt.NewClock(nil), nil, nil,
		WithOwnSeq(OwnSeqMark{Floor: 40}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	if ops, err := p.Commit(t.Context(), messages.Change{Kind: crdt.OpPin, Pin: testPin(1)}); err != nil || ops[0].Seq != 1 {
		t.Fatalf("commit alone: %+v, %v", ops, err)
	}
}
