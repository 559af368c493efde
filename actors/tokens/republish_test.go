package tokens

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// TestRepublishOnJoin: a peer joining the tokens topic makes this peer publish again the
// records it published within the interval (a join that follows the publish is a peer the
// publish may have missed), and nothing once they are older than the interval.
func TestRepublishOnJoin(t *testing.T) {
	system := actor.NewActorSystem()
	store, topic := openStore(t), &fakeTopic{}
	const interval = 300 * time.Millisecond
	reg, err := Spawn(system.Root, Deps{Self: testPeer(t, 1), Store: store, Topic: topic, Remote: &fakeNet{}, Members: fakeMembers{}, Interval: interval}, nil)
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
	reg.Joined(testPeer(t, 3))
	waitUntil(t, "the recent records published again", func() bool { return sent() == 4 })
	topic.mu.Lock()
	again := topic.sent[2:]
	topic.mu.Unlock()
	if again[0].ID != rec.ID || again[0].Revoked || !again[1].Revoked || !again[1].RevokedAt.Equal(revoked.RevokedAt) {
		t.Fatalf("published again %+v", again)
	}

	<-time.After(2 * interval)
	reg.Joined(testPeer(t, 4))
	<-time.After(interval)
	if n := sent(); n != 4 {
		t.Fatalf("records older than the interval published again (%d records in all)", n)
	}
}
