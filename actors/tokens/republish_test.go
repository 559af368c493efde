package tokens

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestRepublishOnJoin: a trusted peer joining the tokens topic makes this peer publish again
// the records it published lately (the join may follow a publish that missed the peer); joins
// within the gap make one more at its end; an untrusted peer's join makes none; and records
// older than the window are not published again.
func TestRepublishOnJoin(t *testing.T) {
	system := actor.NewActorSystem()
	store, topic := openStore(t), &fakeTopic{}
	const interval = time.Second // the window: min(interval, republishWindow)
	allowed := map[peer.ID]bool{}
	for seed := byte(2); seed <= 5; seed++ {
		allowed[testPeer(t, seed)] = true
	}
	reg, err := Spawn(system.Root, Deps{Self: testPeer(t, 1), Store: store, Topic: topic, Remote: &fakeNet{},
		Members: fakeMembers{allowed: allowed}, Interval: interval}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Stop()
	sent := func() int {
		topic.mu.Lock()
		defer topic.mu.Unlock()
		return len(topic.sent)
	}

	reg.Joined(testPeer(t, 2)) // nothing published yet: nothing to repeat
	rec := newRecord("alice", time.Hour)
	if err := reg.Record(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	revoked, err := reg.Revoke(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := sent(); n != 2 {
		t.Fatalf("published %d records, want 2", n)
	}
	reg.Joined(testPeer(t, 9)) // not trusted: ignored (messages are taken in order)
	reg.Joined(testPeer(t, 3))
	waitUntil(t, "the recent records published again", func() bool { return sent() >= 4 })
	topic.mu.Lock()
	again := append(topic.sent[:0:0], topic.sent[2:4]...)
	topic.mu.Unlock()
	if again[0].ID != rec.ID || again[0].Revoked || !again[1].Revoked || !again[1].RevokedAt.Equal(revoked.RevokedAt) {
		t.Fatalf("published again %+v", again)
	}
	start := time.Now()
	reg.Joined(testPeer(t, 4)) // within the gap: put off to its end
	waitUntil(t, "the put-off republish", func() bool { return sent() >= 6 })
	if n, took := sent(), time.Since(start); n != 6 || took < republishGap/2 {
		t.Fatalf("%d records published in all, the second republish after %s (gap %s)", n, took, republishGap)
	}

	<-time.After(interval + 100*time.Millisecond) // the records leave the window
	reg.Joined(testPeer(t, 5))
	<-time.After(republishGap + 200*time.Millisecond)
	if n := sent(); n != 6 {
		t.Fatalf("records older than the window published again (%d records in all)", n)
	}
}
