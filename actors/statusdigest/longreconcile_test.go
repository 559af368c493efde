package statusdigest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	gocid "github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/passgate"
	"github.com/pincluster/pincluster/internal/testpeer"
	"github.com/pincluster/pincluster/messages"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// memStore is an own digest in memory: WriteOwnDigest stores what differs (the since rule of
// persistence.WriteOwnDigest included) and returns it as the next delta.
type memStore struct {
	Store
	mu         sync.Mutex
	seq        uint64
	own        map[string]sd.Entry
	reconciled int           // batches written with a since (a reconcile's)
	wrote      chan struct{} // told of each write
}

func newMemStore(own ...sd.Entry) *memStore {
	s := &memStore{own: map[string]sd.Entry{}, wrote: make(chan struct{}, 1)}
	for _, e := range own {
		s.own[string(e.Cid)] = e
	}
	return s
}

func (s *memStore) OwnDigestVersion() (uint64, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return 7, s.seq, nil
}

func (s *memStore) OwnDigestPage([]byte, int) (sd.Page, error) { return sd.Page{Epoch: 7}, nil }

func (s *memStore) WriteOwnDigest(changes []sd.Entry, since time.Time) (sd.Digest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		select {
		case s.wrote <- struct{}{}:
		default:
		}
	}()
	if !since.IsZero() {
		s.reconciled++
	}
	d := sd.Digest{Epoch: 7, Seq: s.seq + 1}
	for _, e := range changes {
		cur, found := s.own[string(e.Cid)]
		if (!found && e.ShownByAbsence()) || (found && cur.Same(e)) || (found && !since.IsZero() && cur.TS.After(since)) {
			continue
		}
		if e.Deleted() {
			delete(s.own, string(e.Cid))
		} else {
			s.own[string(e.Cid)] = e
		}
		d.Entries = append(d.Entries, e)
	}
	if len(d.Entries) == 0 {
		d.Seq = s.seq
		return d, nil
	}
	s.seq = d.Seq
	return d, nil
}

func (s *memStore) status(c api.Cid) api.TrackerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.own[string(c.Bytes())].Status
}

// await waits for cond, checked after each write, at most 10 s.
func (s *memStore) await(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-s.wrote:
		case <-deadline:
			t.Fatal(what)
		}
	}
}

func (s *memStore) reconciles() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reconciled
}

func cidOf(t *testing.T, s string) api.Cid {
	h, err := multihash.Sum([]byte(s), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

// blockedPass is a Local whose pass does not start before release is closed (the IPFS node
// does not answer its listing), then passes pass.
type blockedPass struct {
	release chan struct{}
	pass    localPass
}

func (l blockedPass) LocalDigest(ctx context.Context, fn func([]byte, api.PinInfoShort) error) error {
	select {
	case <-l.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return l.pass.LocalDigest(ctx, fn)
}

// spawnDigests starts the actor on store and local with a fast flush; it returns its PID.
func spawnDigests(t *testing.T, store Store, local Local, passes passgate.Gate) (*actor.ActorSystem, *actor.PID) {
	t.Helper()
	cfg := Default()
	cfg.FlushEvery = 10 * time.Millisecond
	return spawnWith(t, Deps{Store: store, Topic: topicFunc(func([]byte) {}), Local: local, Config: cfg, Passes: passes})
}

// spawnWith starts the actor on deps (Self, Remote and Members filled in when unset) and stops
// it with the test.
func spawnWith(t *testing.T, deps Deps) (*actor.ActorSystem, *actor.PID) {
	t.Helper()
	return spawnLogged(t, deps, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// spawnLogged is spawnWith logging the actor's lines to log.
func spawnLogged(t *testing.T, deps Deps, log *slog.Logger) (*actor.ActorSystem, *actor.PID) {
	t.Helper()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := root.Spawn(system, root.Config{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if deps.Self == "" {
		deps.Self = testpeer.ID(t, 1)
	}
	if deps.Remote == nil {
		deps.Remote = struct{ Requester }{}
	}
	if deps.Members == nil {
		deps.Members = struct{ Members }{}
	}
	d, err := Spawn(r, deps, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	return system, d.PID()
}

// TestChangesPublishedDuringLongReconcile: the tracker's changes are stored and published
// while a reconcile waits for its turn at the passes gate (the healer's state sync holds it:
// minutes at 10M pins, or as long as the IPFS node does not answer its listing) and while its
// pass runs; they used to wait for the whole reconcile, so the peer's own digest, and every
// replica of it, stayed as it was (a bulk unpin on a failing node: 10 unpin_error for
// minutes while the tracker held hundreds) while heartbeats announced it as current.
func TestChangesPublishedDuringLongReconcile(t *testing.T) {
	x, y := cidOf(t, "x"), cidOf(t, "y")
	store := newMemStore()
	gate := passgate.New()
	leave, err := gate.Enter(t.Context()) // the healer's state sync
	if err != nil {
		t.Fatal(err)
	}
	local := blockedPass{release: make(chan struct{})}
	system, pid := spawnDigests(t, store, local, gate) // reconciles at start: waits at the gate
	failed := api.PinInfoShort{Status: api.TrackerStatusUnpinError, TS: time.Now(), Error: "ipfs is down", AttemptCount: 1}
	system.Root.Send(pid, messages.TrackerStatusChanged{Changes: []messages.StatusChange{{Cid: x, Info: failed}}})
	store.await(t, func() bool { return store.status(x) == api.TrackerStatusUnpinError }, "a change waited for the reconcile waiting at the gate")
	leave() // its turn: the pass now waits for the IPFS node
	system.Root.Send(pid, messages.TrackerStatusChanged{Changes: []messages.StatusChange{{Cid: y, Info: failed}}})
	store.await(t, func() bool { return store.status(y) == api.TrackerStatusUnpinError }, "a change waited for the reconcile's pass")
	close(local.release)
}

// TestChangesDuringReconcileHaveTheLastWord: a CID the tracker changed while a reconcile ran
// is left out of the reconcile's batches, so its older snapshot is not written over the
// change: here an unpin that settled (its entry deleted) while the pass still saw it unpinning.
func TestChangesDuringReconcileHaveTheLastWord(t *testing.T) {
	x := cidOf(t, "x")
	unpinning := api.PinInfoShort{Status: api.TrackerStatusUnpinning, TS: time.Now().Add(-time.Minute)}
	store := newMemStore(sd.FromShort(x.Bytes(), unpinning))
	y := cidOf(t, "y") // a pin the digest lacks: the reconcile has a batch to write
	pinned := api.PinInfoShort{Status: api.TrackerStatusPinned, TS: time.Now().Add(-time.Minute)}
	pass := localPass{{x.Bytes(), unpinning}, {y.Bytes(), pinned}}
	sort.Slice(pass, func(i, j int) bool { return bytes.Compare(pass[i].cid, pass[j].cid) < 0 })
	local := blockedPass{release: make(chan struct{}), pass: pass}
	system, pid := spawnDigests(t, store, local, nil)
	settled := api.PinInfoShort{Status: api.TrackerStatusUnpinned, TS: time.Now()}
	system.Root.Send(pid, messages.TrackerStatusChanged{Changes: []messages.StatusChange{{Cid: x, Info: settled}}})
	store.await(t, func() bool { return store.status(x) == 0 }, "the settled unpin was not written")
	close(local.release) // the pass, read before the unpin settled, says unpinning
	store.await(t, func() bool { return store.status(y) == api.TrackerStatusPinned }, "the reconcile wrote nothing")
	if st := store.status(x); st != 0 {
		t.Fatalf("the reconcile's stale status %s was written over the settled unpin", st)
	}
}
