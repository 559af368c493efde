package ipfsproxy

import (
	"testing"

	"github.com/pincluster/pincluster/api"
)

// TestPinLsListsEveryPinType: like IPFS Cluster's proxy (its pinLsHandler streams
// Cluster.Pins, the whole pinset, whatever the pin type), pin/ls lists a sharded DAG's
// meta-pin, cluster-DAG and shards beside plain pins, each with its own mode.
func TestPinLsListsEveryPinType(t *testing.T) {
	e := newEnv(t)
	plain, meta, dag, shard := cidOf("plain"), cidOf("meta"), cidOf("dag"), cidOf("shard")
	e.pins.Pin(t.Context(), plain, api.PinOptions{})
	add := func(c api.Cid, typ api.PinType, mode api.PinMode) {
		p := api.NewPin(c, api.PinOptions{Mode: mode})
		p.Type = typ
		e.pins.mu.Lock()
		e.pins.pins[c.String()] = p
		e.pins.mu.Unlock()
	}
	add(meta, api.PinTypeMeta, api.PinModeDirect)
	add(dag, api.PinTypeClusterDAG, api.PinModeDirect)
	add(shard, api.PinTypeShard, api.PinModeRecursive)

	type keys struct{ Keys map[string]pinLsType }
	got := decode[keys](t, e.post("/api/v0/pin/ls")).Keys
	want := map[api.Cid]string{plain: "recursive", meta: "direct", dag: "direct", shard: "recursive"}
	if len(got) != len(want) {
		t.Fatalf("pin ls = %v, want %v", got, want)
	}
	for c, typ := range want {
		if got[c.String()].Type != typ {
			t.Fatalf("pin ls = %v: %s should be listed %s", got, c, typ)
		}
	}
	if ls := lines(t, e.post("/api/v0/pin/ls?stream=true")); len(ls) != len(want) {
		t.Fatalf("stream: %d lines, want %d", len(ls), len(want))
	}
}
