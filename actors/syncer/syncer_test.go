package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/testpeer"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// side is one peer: a store, an actor system with the syncer, and a link to the other side.
type side struct {
	id       peer.ID
	store    *persistence.Store
	system   *actor.ActorSystem
	syncer   *Syncer
	link     *link
	mu       sync.Mutex
	notified []crdt.Op
	sub      *actor.PID // hears the pinset's PinsetChanged into notified
}

// link is a fake Requester: it round-trips messages through their JSON wire form and asks the
// target system's actor directly.
type link struct {
	target    *actor.ActorSystem
	only      peer.ID // set: only this peer is reachable (at target); unset: any peer ID reaches target
	requests  atomic.Int32
	snapshots atomic.Int32 // answers that were snapshot pages
	failAt    atomic.Int32 // the request of this number (1-based) fails; 0: none
	mu        sync.Mutex
	cursors   []string // the Cursor of every request
}

func (l *link) PID(id peer.ID, name string) *actor.PID { return actor.NewPID(id.String(), name) }

func (l *link) Request(ctx context.Context, to *actor.PID, msg any) (any, error) {
	n := l.requests.Add(1)
	if req, ok := msg.(*messages.SyncRequest); ok {
		l.mu.Lock()
		l.cursors = append(l.cursors, req.Cursor)
		l.mu.Unlock()
	}
	if n == l.failAt.Load() {
		return nil, fmt.Errorf("request %d: the test drops it", n)
	}
	if l.target == nil || l.only != "" && to.Address != l.only.String() {
		return nil, fmt.Errorf("peer %s unreachable (not connected in this test)", to.Address)
	}
	req := msg.(*messages.SyncRequest)
	var wire messages.SyncRequest
	if err := roundTrip(req, &wire); err != nil {
		return nil, err
	}
	res, err := l.target.Root.RequestFuture(actor.NewPID(l.target.Address(), to.Id), &wire, 10*time.Second).Result()
	if err != nil {
		return nil, err
	}
	var back messages.SyncResponse
	if err := roundTrip(res, &back); err != nil {
		return nil, err
	}
	if back.Snapshot {
		l.snapshots.Add(1)
	}
	return &back, nil
}

func roundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func newSide(t testing.TB, seed byte, page int) *side {
	t.Helper()
	return newSideTrusting(t, seed, page, func(peer.ID) bool { return true })
}

func newSideTrusting(t testing.TB, seed byte, page int, trust Trust, opts ...Option) *side {
	t.Helper()
	st, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	s := &side{id: newPeer(t, seed), store: st, system: actor.NewActorSystem(), link: &link{}}
	// The real single writer: what a snapshot changes is what its subscriber hears.
	s.sub = s.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case messages.PinsetChanged:
			s.mu.Lock()
			s.notified = append(s.notified, m.Ops...)
			s.mu.Unlock()
		case settleEvents:
			ctx.Respond(settleEvents{})
		}
	}))
	log := slog.New(slog.DiscardHandler)
	writer, err := pinset.Spawn(s.system.Root, s.id, st, crdt.NewClock(nil), []*actor.PID{s.sub}, log)
	if err != nil {
		t.Fatal(err)
	}
	s.syncer, err = Spawn(s.system.Root, st, s.link, writer, trust, log, append([]Option{WithPageSize(page)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.syncer.Stop()
		writer.Stop()
		s.system.Shutdown()
		st.Close()
	})
	return s
}

// connect makes a pull from `from` reach `to`'s actor.
func connect(from, to *side) { from.link.target = to.system }

// newPeer is a peer ID that is the same for the same seed (internal/testpeer).
var newPeer = testpeer.ID

func mkCid(t testing.TB, i int) api.Cid {
	h, err := multihash.Sum([]byte(fmt.Sprintf("cid-%d", i)), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.DagProtobuf, h))
}

func pinOp(t testing.TB, origin peer.ID, seq uint64, c api.Cid, name string) crdt.Op {
	p := api.NewPin(c, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Name: name})
	p.Timestamp = time.Unix(1700000000, 0).UTC()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return crdt.Op{Origin: origin, Seq: seq, Clock: crdt.MakeHLC(1700000000000+int64(seq), 0), Kind: crdt.OpPin, Cid: c, PinJSON: b}
}

func unpinOp(origin peer.ID, seq uint64, c api.Cid) crdt.Op {
	return crdt.Op{Origin: origin, Seq: seq, Clock: crdt.MakeHLC(1700000000000+int64(seq), 0), Kind: crdt.OpUnpin, Cid: c}
}

// history writes n ops of origin starting at seq from: pins of cids base.., every third one
// unpinned again later.
func history(t testing.TB, origin peer.ID, from uint64, n, base int) []crdt.Op {
	var ops []crdt.Op
	seq := from
	for i := 0; i < n; i++ {
		ops = append(ops, pinOp(t, origin, seq, mkCid(t, base+i), fmt.Sprintf("p%d", base+i)))
		seq++
		if i%3 == 2 {
			ops = append(ops, unpinOp(origin, seq, mkCid(t, base+i-1)))
			seq++
		}
	}
	return ops
}

func mustApply(t *testing.T, s *side, ops []crdt.Op) {
	t.Helper()
	if _, err := s.store.Apply(ops); err != nil {
		t.Fatal(err)
	}
}

func dump(t *testing.T, st *persistence.Store) string {
	t.Helper()
	var buf bytes.Buffer
	if err := st.IteratePinsJSON(t.Context(), func(c api.Cid, js []byte) error {
		fmt.Fprintf(&buf, "%s %s\n", c, js)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func vvString(t *testing.T, st *persistence.Store) string {
	vv, err := st.VersionVector()
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for o, n := range vv {
		parts = append(parts, fmt.Sprintf("%s=%d", o, n))
	}
	sort.Strings(parts)
	return fmt.Sprint(parts)
}

func assertSame(t *testing.T, a, b *side) {
	t.Helper()
	if da, db := dump(t, a.store), dump(t, b.store); da != db {
		t.Fatalf("pinsets differ:\n%s\nvs\n%s", da, db)
	}
	if va, vb := vvString(t, a.store), vvString(t, b.store); va != vb {
		t.Fatalf("version vectors differ: %s vs %s", va, vb)
	}
	na, _ := a.store.CountPins()
	nb, _ := b.store.CountPins()
	if na != nb {
		t.Fatalf("pin counts differ: %d vs %d", na, nb)
	}
}

func mustSeen(t *testing.T, s *side) map[peer.ID]SeenVV {
	t.Helper()
	seen, err := s.syncer.SeenVVs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// settleEvents asks the subscriber to answer once it handled what is already in its mailbox.
type settleEvents struct{}

// settle waits until every PinsetChanged sent before now is in s.notified: the pinset sends
// events before it answers the write they follow.
func (s *side) settle(t testing.TB) {
	t.Helper()
	if _, err := s.system.Root.RequestFuture(s.sub, settleEvents{}, 10*time.Second).Result(); err != nil {
		t.Fatalf("subscriber: %v", err)
	}
}
