package tracker

import (
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/pincluster/pincluster/internal/poll"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/persistence"
)

const selfID = peer.ID("self-peer")

func testCid(t testing.TB, name string) api.Cid {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	m, err := mh.Encode(sum[:], mh.SHA2_256)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, m))
}

func testPin(t testing.TB, name string) api.Pin {
	p := api.NewPin(testCid(t, name), api.PinOptions{Name: name})
	p.Timestamp = time.Now()
	return p
}

// testConfig uses millisecond durations.
func testConfig() Config {
	c := DefaultConfig()
	c.ConcurrentPins = 2
	c.PriorityPinMaxRetries = 3
	c.PinTimeout = 5 * time.Second
	c.UnpinTimeout = 5 * time.Second
	c.RetryBackoffMin = 5 * time.Millisecond
	c.RetryBackoffMax = 20 * time.Millisecond
	return c
}

func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
}

// storeTracker is newTestTracker over a queue store the test keeps, with a real peer ID to
// make test ops with (pins go through their JSON form, which checks it).
func storeTracker(t *testing.T, cfg Config) (*Tracker, *persistence.Store, *fake.Backend, peer.ID) {
	t.Helper()
	st := testQueue(t)
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, st, selfID, "peer0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	origin, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return tr, st, b, origin
}

func newTestTracker(t *testing.T, cfg Config) (*Tracker, *fake.Backend) {
	t.Helper()
	b := fake.New()
	tr, err := New(quietSystem().Root, cfg, b, testQueue(t), selfID, "peer0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.ClearFaults()
		tr.Stop()
	})
	return tr, b
}

// testQueue is a real Badger store (in memory) for the tracker's durable queue, closed after
// the test's other cleanups (the tracker stops first).
func testQueue(t testing.TB) *persistence.Store {
	t.Helper()
	st, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	last := ""
	ok := poll.Until(10*time.Second, time.Millisecond, func() bool {
		done, state := cond()
		last = state
		return done
	})
	if !ok {
		t.Fatalf("timed out waiting for %s (last: %s)", what, last)
	}
}

func status(t *testing.T, tr *Tracker, pin api.Pin) api.PinInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pi, err := tr.Status(ctx, pin)
	if err != nil {
		t.Fatalf("status %s: %v", pin.Name, err)
	}
	return pi
}

func waitStatus(t *testing.T, tr *Tracker, pin api.Pin, want api.TrackerStatus) api.PinInfo {
	t.Helper()
	var pi api.PinInfo
	waitFor(t, fmt.Sprintf("%s to be %s", pin.Name, want), func() (bool, string) {
		pi = status(t, tr, pin)
		return pi.Status == want, fmt.Sprintf("%s attempts=%d err=%q", pi.Status, pi.AttemptCount, pi.Error)
	})
	return pi
}

func ctx5s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
