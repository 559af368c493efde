package cluster

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/sharding"
)

// recTracker is fakeTracker recording what it was asked to recover.
type recTracker struct {
	*fakeTracker
	recovered []api.Cid
}

func (r *recTracker) Recover(ctx context.Context, pin api.Pin) (api.PinInfo, error) {
	r.recovered = append(r.recovered, pin.Cid)
	return r.fakeTracker.Status(ctx, pin)
}

// metaWorld is a one-peer cluster holding a sharded DAG of three shards, all pinned here, and
// one plain pin.
func metaWorld(t *testing.T) (svc *Services, tr *recTracker, meta api.Cid, shards []api.Cid, dag api.Cid) {
	t.Helper()
	self := testPeer(t)
	store := newMemStore()
	tr = &recTracker{fakeTracker: &fakeTracker{self: self, inFlight: map[string]api.PinInfoShort{}, pinned: map[string]bool{}}}
	held := map[string][]byte{}
	var shardCids []cid.Cid
	for i := range 3 {
		nd, _ := sharding.ShardNode([]cid.Cid{blocks.NewBlock([]byte{byte(i)}).Cid()})
		shardCids = append(shardCids, nd.Cid())
		p := api.NewPin(api.NewCid(nd.Cid()), api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1, Name: "shard"})
		p.Type, p.Allocations = api.PinTypeShard, []peer.ID{self}
		store.put(t, p)
		shards = append(shards, p.Cid)
	}
	dagNode, _ := sharding.ClusterDAGNode(shardCids)
	held[dagNode.Cid().KeyString()] = dagNode.RawData()
	meta = testCid(t, "root")
	dp := api.NewPin(api.NewCid(dagNode.Cid()), api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Mode: api.PinModeDirect})
	dp.Type, dp.Reference = api.PinTypeClusterDAG, &meta
	store.put(t, dp)
	dag = dp.Cid
	mp := api.NewPin(meta, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1, Mode: api.PinModeDirect, Name: "big"})
	mp.Type, mp.Reference, mp.Allocations = api.PinTypeMeta, &dag, []peer.ID{self}
	store.put(t, mp)
	plain := api.NewPin(testCid(t, "plain"), api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1, Name: `"type":"meta-pin"`})
	plain.Allocations = []peer.ID{self}
	store.put(t, plain)
	ipfs := &blockIPFS{held: held}
	for _, c := range append(slices.Clone(shards), dag, meta, plain.Cid) {
		tr.pinned[c.KeyString()] = true
		ipfs.pinned = append(ipfs.pinned, c)
	}
	var err error
	svc, err = New(Deps{Config: Config{ReplicationFactorMin: 1, ReplicationFactorMax: 1, ConcurrentPins: 1},
		Store: store, Pinset: &commits{t: t, store: store}, Allocator: &fixedAlloc{peers: []peer.ID{self}}, Tracker: tr,
		Members: fakeMembers{self: self, members: []peer.ID{self}}, Remote: &fakeRemote{answer: func(peer.ID, any) (any, error) { return nil, errFake }},
		IPFS: ipfs, Metrics: freeMetrics{peers: []peer.ID{self}, free: 1 << 30}, Node: noNode{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return svc, tr, meta, shards, dag
}

// localAll is status --local of the whole pinset through both streams (decoded values and
// the REST API's JSON lines), by CID; the two must agree.
func localAll(t *testing.T, svc *Services, filter api.TrackerStatus) map[string]api.TrackerStatus {
	t.Helper()
	ctx := context.Background()
	out := map[string]api.TrackerStatus{}
	err := svc.StatusService.StatusAll(ctx, filter, true, nil, func(g api.GlobalPinInfo) error {
		for _, st := range g.PeerMap {
			out[g.Cid.String()] = st.Status
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	err = svc.StatusService.StatusLocalJSON(ctx, filter, func(line []byte) error {
		var g api.GlobalPinInfo
		if err := json.Unmarshal(line, &g); err != nil {
			t.Fatalf("line %s: %v", line, err)
		}
		lines++
		for _, st := range g.PeerMap {
			if out[g.Cid.String()] != st.Status {
				t.Fatalf("%s: JSON stream says %v, values say %v", g.Cid, st.Status, out[g.Cid.String()])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if lines != len(out) {
		t.Fatalf("JSON stream has %d lines, values %d", lines, len(out))
	}
	return out
}

// TestLocalStatusAllAggregatesMetaPins: status --local without CIDs shows a meta-pin as the
// aggregate of its shards (as status --local <cid> does), and filters on that aggregate.
func TestLocalStatusAllAggregatesMetaPins(t *testing.T) {
	svc, tr, meta, shards, _ := metaWorld(t)
	all := localAll(t, svc, 0)
	if len(all) != 6 || all[meta.String()] != api.TrackerStatusSharded {
		t.Fatalf("status --local: %v; want 6 pins, the meta-pin %s sharded", all, meta)
	}
	if got := localAll(t, svc, api.TrackerStatusSharded); len(got) != 1 || got[meta.String()] != api.TrackerStatusSharded {
		t.Fatalf("--filter sharded: %v, want the meta-pin alone", got)
	}
	if got := localAll(t, svc, api.TrackerStatusPinned); len(got) != 5 || got[meta.String()] != 0 {
		t.Fatalf("--filter pinned: %v, want the 5 other pins, not the meta-pin", got)
	}
	tr.inFlight[shards[1].KeyString()] = api.PinInfoShort{Status: api.TrackerStatusPinError, Error: "boom"}
	errs := localAll(t, svc, api.TrackerStatusError)
	if errs[meta.String()] != api.TrackerStatusPinError || errs[shards[1].String()] != api.TrackerStatusPinError || len(errs) != 2 {
		t.Fatalf("--filter error with shard 1 failing: %v, want the shard and its meta-pin", errs)
	}
}

// TestRecoverMetaPinRecoversItsShards: recover of a meta-pin recovers every shard and the
// cluster-DAG, then the meta-pin, and answers with the aggregate.
func TestRecoverMetaPinRecoversItsShards(t *testing.T) {
	svc, tr, meta, shards, dag := metaWorld(t)
	g, err := svc.StatusService.Recover(context.Background(), meta, true)
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(shards), dag, meta)
	if !slices.Equal(tr.recovered, want) {
		t.Fatalf("recovered %v, want the shards, the cluster-DAG and the meta-pin %v", tr.recovered, want)
	}
	for _, st := range g.PeerMap {
		if st.Status != api.TrackerStatusSharded {
			t.Fatalf("recover answered %v, want the aggregate (sharded)", st.Status)
		}
	}
	tr.recovered = nil
	if _, err := svc.StatusService.Recover(context.Background(), shards[0], true); err != nil || !slices.Equal(tr.recovered, shards[:1]) {
		t.Fatalf("recover of a shard: %v, recovered %v; want that shard alone", err, tr.recovered)
	}
}
