package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/boxo/files"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/messages"
)

// Fakes of the contracts, each recording what the services asked of it.

var errFake = errors.New("fake: not wired in this test")

// memStore is a PinStore over a sorted in-memory pinset of stored pin JSON.
type memStore struct {
	mu        sync.Mutex
	pins      map[string][]byte // binary CID -> pin JSON
	lookups   int               // LookupName and LookupMeta calls
	unindexed bool              // lookups fail with api.ErrNotIndexed
}

func newMemStore() *memStore { return &memStore{pins: map[string][]byte{}} }

func (m *memStore) put(t testing.TB, p api.Pin) {
	t.Helper()
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	m.pins[p.Cid.KeyString()] = js
	m.mu.Unlock()
}

func (m *memStore) GetPin(c api.Cid) (api.Pin, bool, error) {
	m.mu.Lock()
	js, ok := m.pins[c.KeyString()]
	m.mu.Unlock()
	if !ok {
		return api.Pin{}, false, nil
	}
	var p api.Pin
	return p, true, json.Unmarshal(js, &p)
}

func (m *memStore) CountPins() (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pins), nil
}

func (m *memStore) PinsRaw(ctx context.Context, fn func(cid, pinJSON []byte) error) error {
	m.mu.Lock()
	keys := make([]string, 0, len(m.pins))
	for k := range m.pins {
		keys = append(keys, k)
	}
	m.mu.Unlock()
	slices.Sort(keys)
	for _, k := range keys {
		m.mu.Lock()
		js := m.pins[k]
		m.mu.Unlock()
		if err := fn([]byte(k), js); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) IteratePinsJSON(ctx context.Context, fn func(api.Cid, []byte) error) error {
	return m.PinsRaw(ctx, func(k, js []byte) error {
		c, err := api.CastCid(k)
		if err != nil {
			return err
		}
		return fn(c, js)
	})
}

// LookupName and LookupMeta scan, counting the lookups (an index answers them in the store).
func (m *memStore) LookupName(ctx context.Context, name string, fn func(cid, pinJSON []byte) error) error {
	m.mu.Lock()
	m.lookups++
	unindexed := m.unindexed
	m.mu.Unlock()
	if unindexed {
		return api.ErrNotIndexed
	}
	return m.PinsRaw(ctx, func(k, js []byte) error {
		if f, err := api.PinFieldsOf(js); err != nil || !strings.EqualFold(f.Name, name) {
			return err
		}
		return fn(k, js)
	})
}

func (m *memStore) LookupMeta(ctx context.Context, key, value string, fn func(cid, pinJSON []byte) error) error {
	m.mu.Lock()
	m.lookups++
	unindexed := m.unindexed
	m.mu.Unlock()
	if unindexed {
		return api.ErrNotIndexed
	}
	return m.PinsRaw(ctx, func(k, js []byte) error {
		f, err := api.PinFieldsOf(js)
		if err != nil {
			return err
		}
		if v, ok := f.Metadata[key]; !ok || v != value {
			return nil
		}
		return fn(k, js)
	})
}

// commits records committed changes and applies them to a memStore.
type commits struct {
	t       testing.TB
	store   *memStore
	changes []messages.Change
}

func (c *commits) Commit(_ context.Context, ch ...messages.Change) ([]crdt.Op, error) {
	for _, x := range ch {
		c.changes = append(c.changes, x)
		if x.Kind == crdt.OpPin {
			c.store.put(c.t, x.Pin)
		} else {
			c.store.mu.Lock()
			delete(c.store.pins, x.Pin.Cid.KeyString())
			c.store.mu.Unlock()
		}
	}
	return nil, nil
}

type gate struct{ err error }

func (g gate) Full() error { return g.err }

// fixedAlloc allocates to its peers and counts the calls.
type fixedAlloc struct {
	peers []peer.ID
	calls int
}

func (a *fixedAlloc) Allocate(context.Context, api.Cid, api.PinOptions, []peer.ID) ([]peer.ID, error) {
	a.calls++
	return a.peers, nil
}

// fakeTracker holds an in-flight table; Status and StatusUnknown follow the tracker's rule
// with pinned standing for the IPFS node's answer.
type fakeTracker struct {
	mu       sync.Mutex // recover-all calls Status from several goroutines
	self     peer.ID
	inFlight map[string]api.PinInfoShort
	pinned   map[string]bool
	statuses int // calls of Status and StatusUnknown
}

func (f *fakeTracker) Status(_ context.Context, pin api.Pin) (api.PinInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses++
	s, found := f.inFlight[pin.Cid.KeyString()]
	allocated := pin.AllocatedTo(f.self)
	switch {
	case found && (allocated || s.Status&inFlightUnpin != 0):
	case !allocated:
		s = api.PinInfoShort{Status: api.TrackerStatusRemote}
	case f.pinned[pin.Cid.KeyString()]:
		s = api.PinInfoShort{Status: api.TrackerStatusPinned}
	default:
		s = api.PinInfoShort{Status: api.TrackerStatusUnexpectedlyUnpinned}
	}
	s.PeerName = "self"
	return api.PinInfo{Cid: pin.Cid, Peer: f.self, Name: pin.Name, Allocations: orEmpty(pin.Allocations), Origins: orEmpty(pin.Origins),
		Created: pin.Timestamp, Metadata: pin.Metadata, PinInfoShort: s}, nil
}

func (f *fakeTracker) StatusUnknown(_ context.Context, c api.Cid) (api.PinInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses++
	s, found := f.inFlight[c.KeyString()]
	if !found {
		s = api.PinInfoShort{Status: api.TrackerStatusUnpinned}
	}
	s.PeerName = "self"
	return api.PinInfo{Cid: c, Peer: f.self, Allocations: []peer.ID{}, Origins: []string{}, PinInfoShort: s}, nil
}

func (f *fakeTracker) QueueLen() int { return len(f.inFlight) }

func (f *fakeTracker) InFlight(_ context.Context, fn func(api.Cid, api.PinInfoShort) error) error {
	for k, s := range f.inFlight {
		c, err := api.CastCid([]byte(k))
		if err != nil {
			return err
		}
		if err := fn(c, s); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeTracker) Recover(ctx context.Context, pin api.Pin) (api.PinInfo, error) {
	return f.Status(ctx, pin)
}
func (f *fakeTracker) RecoverUnpin(ctx context.Context, c api.Cid) (api.PinInfo, error) {
	return f.StatusUnknown(ctx, c)
}
func (f *fakeTracker) Untrack(context.Context, api.Cid) error { return nil }

type fakeMembers struct {
	self    peer.ID
	members []peer.ID
	names   map[peer.ID]string // PeerName of the others (default: the ID)
	down    []peer.ID          // Known, not among members (down past the ping TTL)
}

func (m fakeMembers) Self() peer.ID                     { return m.self }
func (m fakeMembers) Members(context.Context) []peer.ID { return m.members }
func (m fakeMembers) IsRemoved(peer.ID) bool            { return false }
func (m fakeMembers) Known(_ context.Context, id peer.ID) (bool, error) {
	return slices.Contains(m.members, id) || slices.Contains(m.down, id), nil
}
func (m fakeMembers) PeerName(id peer.ID) string {
	if id == m.self {
		return "self"
	}
	if n, ok := m.names[id]; ok {
		return n
	}
	return id.String()
}

// fakeRemote answers with answer(to, msg), counting the calls.
type fakeRemote struct {
	mu     sync.Mutex
	calls  int
	answer func(to peer.ID, msg any) (any, error)
}

func (r *fakeRemote) Call(_ context.Context, to peer.ID, msg any) (any, error) {
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	return r.answer(to, msg)
}

// fakeIPFS lists pinned as its pins and counts the pin ls calls.
type fakeIPFS struct {
	pinned []api.Cid
	lsErr  error
	ls     int
}

func (f *fakeIPFS) PinLs(_ context.Context, fn func(api.Cid, api.PinMode) error) error {
	f.ls++
	if f.lsErr != nil {
		return f.lsErr
	}
	for _, c := range f.pinned {
		if err := fn(c, api.PinModeRecursive); err != nil {
			return err
		}
	}
	return nil
}
func (f *fakeIPFS) ID(context.Context) (api.IPFSID, error)           { return api.IPFSID{ID: "ipfs-self"}, nil }
func (f *fakeIPFS) Resolve(context.Context, string) (api.Cid, error) { return api.CidUndef, errFake }
func (f *fakeIPFS) ImportCAR(context.Context, io.Reader) (api.Cid, error) {
	return api.CidUndef, errFake
}
func (f *fakeIPFS) GC(context.Context) ([]api.Cid, error) { return nil, nil }
func (f *fakeIPFS) Add(context.Context, files.Directory, api.AddParams, ipfs.AddOutput) (api.Cid, error) {
	return api.CidUndef, errFake
}

type noMetrics struct{}

func (noMetrics) Latest(context.Context, string) ([]api.Metric, error) { return nil, errFake }
func (noMetrics) Names(context.Context) ([]string, error)              { return nil, errFake }
func (noMetrics) Alerts(context.Context) ([]api.Alert, error)          { return nil, errFake }

type noNode struct{}

func (noNode) Addrs() []string                                    { return nil }
func (noNode) PeerAddrs(peer.ID) []string                         { return nil }
func (noNode) Connected() []peer.ID                               { return nil }
func (noNode) AnnounceRemoval(context.Context, peer.ID, uint64)   {}
func (noNode) SealWrites(context.Context, string) (uint64, error) { return 0, nil }
func (noNode) PullFrom(context.Context, peer.ID) error            { return nil }
func (noNode) Leave(string, bool)                                 {}

func testPeer(t testing.TB) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// world is one peer's services over fakes.
type world struct {
	self    peer.ID
	store   *memStore
	commits *commits
	alloc   *fixedAlloc
	tracker *fakeTracker
	remote  *fakeRemote
	ipfs    *fakeIPFS
	svc     *Services
}

func newWorld(t testing.TB, others ...peer.ID) *world {
	t.Helper()
	self := testPeer(t)
	w := &world{self: self, store: newMemStore(), alloc: &fixedAlloc{peers: []peer.ID{self}},
		tracker: &fakeTracker{self: self, inFlight: map[string]api.PinInfoShort{}, pinned: map[string]bool{}},
		remote:  &fakeRemote{answer: func(peer.ID, any) (any, error) { return nil, errFake }}, ipfs: &fakeIPFS{}}
	w.commits = &commits{t: t, store: w.store}
	members := append([]peer.ID{self}, others...)
	slices.Sort(members)
	svc, err := New(Deps{Config: Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1, ConcurrentPins: 2, Version: "test"},
		Store: w.store, Pinset: w.commits, Allocator: w.alloc, Tracker: w.tracker, Members: fakeMembers{self: self, members: members},
		Remote: w.remote, IPFS: w.ipfs, Metrics: noMetrics{}, Node: noNode{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	return w
}
