package tokens

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/testpeer"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// testPeer is a peer ID that is the same for the same seed (internal/testpeer).
var testPeer = testpeer.ID

func openStore(t *testing.T) *persistence.Store {
	t.Helper()
	s, err := persistence.Open(persistence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fakeTopic records what was published.
type fakeTopic struct {
	mu   sync.Mutex
	sent []api.TokenRecord
}

func (f *fakeTopic) PublishTokens(_ context.Context, recs []api.TokenRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, recs...)
	return nil
}

// fakeNet answers token sync requests from other peers' stores, as their tokens actors would.
type fakeNet struct {
	mu     sync.Mutex
	stores map[peer.ID]Store
	asked  []peer.ID
}

func (n *fakeNet) PID(id peer.ID, name string) *actor.PID {
	return &actor.PID{Address: string(id), Id: name}
}

func (n *fakeNet) Request(ctx context.Context, to *actor.PID, msg any) (any, error) {
	n.mu.Lock()
	st, ok := n.stores[peer.ID(to.Address)]
	n.asked = append(n.asked, peer.ID(to.Address))
	n.mu.Unlock()
	if !ok || to.Id != ActorName {
		return nil, errors.New("unreachable")
	}
	return answerSync(ctx, st, msg.(*messages.TokenSyncRequest)), nil
}

type fakeMembers struct {
	connected []peer.ID
	allowed   map[peer.ID]bool
}

func (m fakeMembers) Connected() []peer.ID    { return m.connected }
func (m fakeMembers) Allowed(id peer.ID) bool { return m.allowed[id] }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(10 * time.Millisecond)
	}
}

func newRecord(user string, ttl time.Duration) api.TokenRecord {
	now := time.Now().UTC().Truncate(time.Second)
	return api.TokenRecord{ID: api.NewTokenID(), User: user, Permissions: []string{"read"}, IssuedAt: now, ExpiresAt: now.Add(ttl)}
}

// TestRegistryRecordRevoke: Record stores and publishes with this peer as issuer; Revoke is
// durable, published, idempotent, 404 for an unknown id and 400 for a malformed one.
func TestRegistryRecordRevoke(t *testing.T) {
	system := actor.NewActorSystem()
	self := testPeer(t, 1)
	store, topic := openStore(t), &fakeTopic{}
	reg, err := Spawn(system.Root, Deps{Self: self, Store: store, Topic: topic, Remote: &fakeNet{}, Members: fakeMembers{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Stop()
	ctx := context.Background()
	rec := newRecord("alice", time.Hour)
	if err := reg.Record(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, ok, _ := store.Token(rec.ID)
	if !ok || got.IssuedBy != self || len(topic.sent) != 1 || topic.sent[0].IssuedBy != self {
		t.Fatalf("recorded %+v (%v), published %+v", got, ok, topic.sent)
	}
	if revoked, _ := reg.Revoked(rec.ID); revoked {
		t.Fatal("revoked before Revoke")
	}
	first, err := reg.Revoke(ctx, rec.ID)
	if err != nil || !first.Revoked || first.RevokedBy != self {
		t.Fatalf("revoke: %+v %v", first, err)
	}
	if revoked, _ := reg.Revoked(rec.ID); !revoked || len(topic.sent) != 2 || !topic.sent[1].Revoked {
		t.Fatalf("revocation not stored or not published: %+v", topic.sent)
	}
	again, err := reg.Revoke(ctx, rec.ID)
	if err != nil || !again.RevokedAt.Equal(first.RevokedAt) || len(topic.sent) != 2 {
		t.Fatalf("second revoke: %+v %v (published %d)", again, err, len(topic.sent))
	}
	if _, err := reg.Revoke(ctx, api.NewTokenID()); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := reg.Revoke(ctx, "../m/count"); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("bad id: %v", err)
	}
	n := 0
	reg.List(ctx, func(api.TokenRecord) error { n++; return nil })
	if n != 1 {
		t.Fatalf("listed %d", n)
	}
}

// TestActorMergeAndPull: gossiped records are stored by the actor; PullFrom pulls (page by
// page) what a trusted peer has and skips an untrusted one; the interval pulls on its own.
func TestActorMergeAndPull(t *testing.T) {
	system := actor.NewActorSystem()
	self, trusted, untrusted := testPeer(t, 1), testPeer(t, 2), testPeer(t, 3)
	store, theirs, bad := openStore(t), openStore(t), openStore(t)
	var many []api.TokenRecord
	for i := range maxPage + 7 { // more than one page
		many = append(many, newRecord(fmt.Sprint("u", i), time.Hour))
	}
	if _, err := theirs.MergeTokens(many, time.Now()); err != nil {
		t.Fatal(err)
	}
	evil := newRecord("mallory", time.Hour)
	evil.Revoked, evil.RevokedAt = true, time.Now()
	bad.MergeTokens([]api.TokenRecord{evil}, time.Now())
	net := &fakeNet{stores: map[peer.ID]Store{trusted: theirs, untrusted: bad}}
	members := fakeMembers{connected: []peer.ID{trusted, untrusted}, allowed: map[peer.ID]bool{trusted: true}}
	reg, err := Spawn(system.Root, Deps{Self: self, Store: store, Topic: &fakeTopic{}, Remote: net, Members: members, Interval: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Stop()

	gossiped := newRecord("gossip", time.Hour)
	reg.Merge(trusted, []api.TokenRecord{gossiped})
	waitUntil(t, "the gossiped record stored", func() bool { _, ok, _ := store.Token(gossiped.ID); return ok })

	reg.PullFrom(untrusted)
	reg.PullFrom(trusted)
	count := func() int {
		n := 0
		store.IterateTokens(context.Background(), "", func(api.TokenRecord) error { n++; return nil })
		return n
	}
	waitUntil(t, "every record of the trusted peer pulled", func() bool { return count() == len(many)+1 })
	if _, ok, _ := store.Token(evil.ID); ok {
		t.Fatal("pulled from an untrusted peer")
	}
	net.mu.Lock()
	for _, id := range net.asked {
		if id == untrusted {
			t.Error("asked an untrusted peer")
		}
	}
	net.mu.Unlock()

	// The actor answers other peers' sync requests (paged).
	res, err := system.Root.RequestFuture(reg.pid, &messages.TokenSyncRequest{Limit: 10}, 5*time.Second).Result()
	if resp, ok := res.(*messages.TokenSyncResponse); err != nil || !ok || len(resp.Records) != 10 || !resp.More {
		t.Fatalf("sync answer: %+v %v", res, err)
	}
}

// TestActorTickDropsExpired: the interval drops expired records and pulls from a connected
// trusted peer.
func TestActorTickDropsExpired(t *testing.T) {
	system := actor.NewActorSystem()
	self, other := testPeer(t, 1), testPeer(t, 2)
	store, theirs := openStore(t), openStore(t)
	short := newRecord("short", 2*time.Second)
	store.MergeTokens([]api.TokenRecord{short}, time.Now())
	later := newRecord("later", time.Hour)
	theirs.MergeTokens([]api.TokenRecord{later}, time.Now())
	net := &fakeNet{stores: map[peer.ID]Store{other: theirs}}
	reg, err := Spawn(system.Root, Deps{Self: self, Store: store, Topic: &fakeTopic{}, Remote: net,
		Members: fakeMembers{connected: []peer.ID{other}, allowed: map[peer.ID]bool{other: true}}, Interval: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Stop()
	waitUntil(t, "the interval's pull", func() bool { _, ok, _ := store.Token(later.ID); return ok })
	waitUntil(t, "the expired record dropped", func() bool { _, ok, _ := store.Token(short.ID); return !ok })
}
