package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"mime/multipart"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/blockpush"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/sharding"
)

// shardPusher spools for real, records what each peer was pushed and fails pushes to bad.
type shardPusher struct {
	dir  string
	bad  map[peer.ID]bool
	mu   sync.Mutex
	got  map[peer.ID]int // blocks pushed per peer
	held map[string][]byte
}

func (p *shardPusher) NewSpool() (*blockpush.Spool, error) { return blockpush.NewSpool(p.dir) }

func (p *shardPusher) Push(_ context.Context, to peer.ID, src blockpush.Source, _ cid.Cid, _ func(blockpush.Progress)) error {
	if p.bad[to] {
		return fmt.Errorf("%w: pushing to peer %s: refused", api.ErrUnavailable, to)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range src.Len() {
		b, err := src.Block(i)
		if err != nil {
			return err
		}
		p.got[to]++
		p.held[b.Cid().KeyString()] = b.RawData()
	}
	return nil
}

// freeMetrics reports the same free space for every peer.
type freeMetrics struct {
	peers []peer.ID
	free  uint64
}

func (m freeMetrics) Latest(_ context.Context, name string) ([]api.Metric, error) {
	var out []api.Metric
	for _, p := range m.peers {
		out = append(out, api.Metric{Name: name, Peer: p, Value: strconv.FormatUint(m.free, 10), Valid: true})
	}
	return out, nil
}
func (freeMetrics) Names(context.Context) ([]string, error)     { return nil, nil }
func (freeMetrics) Alerts(context.Context) ([]api.Alert, error) { return nil, nil }

// blockIPFS is fakeIPFS that reads blocks from a map.
type blockIPFS struct {
	fakeIPFS
	held map[string][]byte
}

func (b *blockIPFS) GetBlock(_ context.Context, c api.Cid) ([]byte, error) {
	if raw, ok := b.held[c.KeyString()]; ok {
		return raw, nil
	}
	return nil, api.ErrNotFound
}

func shardWorld(t *testing.T, free uint64, bad ...peer.ID) (*Services, *commits, *shardPusher, []peer.ID) {
	t.Helper()
	members := []peer.ID{testPeer(t), testPeer(t), testPeer(t)}
	slices.Sort(members)
	pusher := &shardPusher{dir: t.TempDir(), bad: map[peer.ID]bool{}, got: map[peer.ID]int{}, held: map[string][]byte{}}
	for _, p := range bad {
		pusher.bad[p] = true
	}
	store := newMemStore()
	cm := &commits{t: t, store: store}
	svc, err := New(Deps{Config: Config{ReplicationFactorMin: 1, ReplicationFactorMax: 1, ConcurrentPins: 1},
		Store: store, Pinset: cm, Allocator: &fixedAlloc{peers: members}, Tracker: &fakeTracker{self: members[0], inFlight: map[string]api.PinInfoShort{}, pinned: map[string]bool{}},
		Members: fakeMembers{self: members[0], members: members}, Remote: &fakeRemote{answer: func(peer.ID, any) (any, error) { return nil, errFake }},
		IPFS: &blockIPFS{held: pusher.held}, Metrics: freeMetrics{peers: members, free: free}, Node: noNode{}, Blocks: pusher,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return svc, cm, pusher, members
}

func multipartFile(t *testing.T, size int) *multipart.Reader {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "f.bin")
	fw.Write(data)
	mw.Close()
	return multipart.NewReader(&buf, mw.Boundary())
}

func shardParams(size uint64) api.AddParams {
	p := api.DefaultAddParams()
	p.Chunker = "size-1024"
	p.Shard, p.ShardSize = true, size
	return p
}

func TestShardedAddThatCannotBePlacedPushesAndPinsNothing(t *testing.T) {
	svc, cm, pusher, _ := shardWorld(t, 8<<10) // 3 peers x 8 KiB for 40 KiB
	_, err := svc.AddService.Add(context.Background(), multipartFile(t, 40<<10), nil, shardParams(4<<10), func(api.AddedOutput) {})
	if !errors.Is(err, api.ErrInsufficientStorage) || !strings.Contains(err.Error(), "nothing was pushed or pinned") {
		t.Fatalf("err = %v, want insufficient storage saying nothing was pinned", err)
	}
	if len(cm.changes) != 0 || len(pusher.got) != 0 {
		t.Fatalf("a refused sharded add committed %d changes and pushed to %v", len(cm.changes), pusher.got)
	}
}

// TestShardedAddFailedPushPinsNothing: replication 3 on 3 peers leaves no replacement for a
// peer whose push fails.
func TestShardedAddFailedPushPinsNothing(t *testing.T) {
	svc, cm, _, members := shardWorld(t, 1<<20)
	svc.AddService.d.Blocks.(*shardPusher).bad[members[1]] = true
	params := shardParams(4 << 10)
	params.ReplicationFactorMin, params.ReplicationFactorMax = 3, 3
	_, err := svc.AddService.Add(context.Background(), multipartFile(t, 40<<10), nil, params, func(api.AddedOutput) {})
	if err == nil || !strings.Contains(err.Error(), members[1].String()) || !strings.Contains(err.Error(), "nothing was pinned") {
		t.Fatalf("err = %v, want a failure naming %s", err, members[1])
	}
	if len(cm.changes) != 0 {
		t.Fatalf("a failed sharded add committed %d changes", len(cm.changes))
	}
}

// TestShardedPushReplacesFailedPeers: a shard whose push to a peer fails goes to another peer
// with room for it that does not hold it; with none, the add fails naming the peer unless the
// shard keeps its minimum.
func TestShardedPushReplacesFailedPeers(t *testing.T) {
	cases := []struct {
		name     string
		free     uint64
		min, max int
		fail     bool
	}{
		{"replaced", 1 << 20, 2, 2, false},
		{"fewer but over the minimum", 1 << 20, 2, 3, false},
		{"no room elsewhere", 32 << 10, 2, 2, true}, // about 42 KiB twice on 3 x 32 KiB: no room to move
		{"nobody else", 1 << 20, 3, 3, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, _, pusher, members := shardWorld(t, tc.free)
			bad := members[1]
			pusher.bad[bad] = true
			s := svc.AddService
			ctx := context.Background()
			sp, err := pusher.NewSpool()
			if err != nil {
				t.Fatal(err)
			}
			defer sp.Close()
			params := shardParams(4 << 10)
			root, err := s.chunk(ctx, sp, multipartFile(t, 40<<10), nil, params, func(api.AddedOutput) {})
			if err != nil {
				t.Fatal(err)
			}
			opts := api.PinOptions{ReplicationFactorMin: tc.min, ReplicationFactorMax: tc.max}
			a, err := s.planShards(ctx, sp, root, params.ShardSize, opts)
			if err != nil {
				t.Fatal(err)
			}
			planned := 0
			for _, ps := range a.places {
				if slices.Contains(ps, bad) {
					planned++
				}
			}
			if planned == 0 {
				t.Fatal("the plan gave the failing peer no shard: the test tests nothing")
			}
			err = s.pushShards(ctx, sp, a, tc.min, false, func(api.AddedOutput) {})
			if tc.fail {
				if err == nil || !strings.Contains(err.Error(), bad.String()) || !strings.Contains(err.Error(), "nothing was pinned") {
					t.Fatalf("err = %v, want a failure naming %s", err, bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, ps := range a.places {
				if slices.Contains(ps, bad) || len(ps) < tc.min || len(ps) > tc.max {
					t.Fatalf("shard %d placed on %v: want %d-%d peers without %s", i, ps, tc.min, tc.max, bad)
				}
				if len(slices.Compact(slices.Sorted(slices.Values(ps)))) != len(ps) {
					t.Fatalf("shard %d placed twice on one peer: %v", i, ps)
				}
			}
			// every shard ended on both good peers: each took every block and every shard node
			for _, p := range []peer.ID{members[0], members[2]} {
				if want := sp.Len() + len(a.nodes); pusher.got[p] != want {
					t.Fatalf("%s took %d blocks, want %d", p, pusher.got[p], want)
				}
			}
		})
	}
}

// TestShardedUnpinAndRepin: a meta-pin's unpin removes every shard and the cluster-DAG in one
// commit; a shard alone, or a pin add of the meta-pin's CID, is refused.
func TestShardedUnpinAndRepin(t *testing.T) {
	svc, cm, pusher, _ := shardWorld(t, 1<<20)
	var shards []cid.Cid
	for i := range 3 {
		nd, _ := sharding.ShardNode([]cid.Cid{blocks.NewBlock([]byte{byte(i)}).Cid()})
		shards = append(shards, nd.Cid())
		p := api.NewPin(api.NewCid(nd.Cid()), api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1})
		p.Type = api.PinTypeShard
		cm.store.put(t, p)
	}
	dag, _ := sharding.ClusterDAGNode(shards)
	pusher.held[dag.Cid().KeyString()] = dag.RawData()
	root := testCid(t, "root")
	dp := api.NewPin(api.NewCid(dag.Cid()), api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	dp.Type, dp.Reference = api.PinTypeClusterDAG, &root
	cm.store.put(t, dp)
	meta := api.NewPin(root, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1})
	meta.Type = api.PinTypeMeta
	ref := dp.Cid
	meta.Reference = &ref
	cm.store.put(t, meta)

	ctx := context.Background()
	if _, err := svc.PinService.Unpin(ctx, api.NewCid(shards[1])); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "meta-pin") {
		t.Fatalf("unpin of a shard: err = %v, want a refusal naming the meta-pin", err)
	}
	if _, err := svc.PinService.Unpin(ctx, dp.Cid); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), root.String()) {
		t.Fatalf("unpin of the cluster-DAG: err = %v, want a refusal naming %s", err, root)
	}
	if _, err := svc.PinService.Pin(ctx, root, api.PinOptions{}); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("pin add of the meta-pin's CID: err = %v, want a refusal", err)
	}
	// Everywhere (-1) takes no allocation, but a shard is refused all the same.
	for _, c := range []api.Cid{api.NewCid(shards[0]), dp.Cid} {
		every := api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1}
		if _, err := svc.PinService.Pin(ctx, c, every); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "sharded add") {
			t.Fatalf("pin add of %s everywhere: err = %v, want a refusal", c, err)
		}
	}
	if len(cm.changes) != 0 {
		t.Fatalf("refusals committed %d changes", len(cm.changes))
	}
	if _, err := svc.PinService.Unpin(ctx, root); err != nil {
		t.Fatal(err)
	}
	if len(cm.changes) != 5 {
		t.Fatalf("unpin of the meta-pin committed %d changes, want 3 shards, the cluster-DAG and the meta-pin", len(cm.changes))
	}
	for _, ch := range cm.changes {
		if ch.Kind != crdt.OpUnpin {
			t.Fatalf("unpin of the meta-pin committed a %v", ch.Kind)
		}
	}
	if n, _ := cm.store.CountPins(); n != 0 {
		t.Fatalf("%d pins left after unpinning the meta-pin", n)
	}
}

// TestShardedUnpinUnreadableClusterDAGUnpinsNothing: without the shard list, nothing goes.
func TestShardedUnpinUnreadableClusterDAGUnpinsNothing(t *testing.T) {
	svc, cm, _, _ := shardWorld(t, 1<<20)
	root, missing := testCid(t, "root"), testCid(t, "dag")
	meta := api.NewPin(root, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1})
	meta.Type, meta.Reference = api.PinTypeMeta, &missing
	cm.store.put(t, meta)
	if _, err := svc.PinService.Unpin(context.Background(), root); err == nil || !strings.Contains(err.Error(), "nothing was unpinned") {
		t.Fatalf("err = %v, want a failure saying nothing was unpinned", err)
	}
	if len(cm.changes) != 0 {
		t.Fatalf("committed %d changes", len(cm.changes))
	}
}
