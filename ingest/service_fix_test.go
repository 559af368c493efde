package ingest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/actors/tracker"
	"github.com/pincluster/pincluster/api"
)

// The pins of a sharded add are refused per line, with the single calls' words; the other
// lines of the batch go on.
func TestRunRefusesShardedPins(t *testing.T) {
	meta, dag, shard := mustDecode(t, cidA), mustDecode(t, cidB), mustDecode(t, cidC)
	plain := genCidList(t, 1)[0]
	seed := func() *memDeps {
		deps := newMemDeps()
		deps.pins[meta.String()] = api.Pin{Cid: meta, Type: api.PinTypeMeta, Reference: &dag}
		deps.pins[dag.String()] = api.Pin{Cid: dag, Type: api.PinTypeClusterDAG, Reference: &meta}
		deps.pins[shard.String()] = api.Pin{Cid: shard, Type: api.PinTypeShard, MaxDepth: 1}
		deps.pins[plain.String()] = api.NewPin(plain, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
		return deps
	}
	input := meta.String() + "\n" + dag.String() + "\n" + shard.String() + "\n" + plain.String() + "\n"
	cases := []struct {
		op   api.BatchOp
		want map[int]string // line: error
	}{
		{api.BatchPin, map[int]string{
			1: meta.String() + " is a meta-pin of a sharded add; unpin the meta-pin first to pin it whole",
			2: dag.String() + " is a clusterdag-pin of a sharded add; unpin the meta-pin first to pin it whole",
			3: shard.String() + " is a shard-pin of a sharded add; unpin the meta-pin first to pin it whole",
		}},
		{api.BatchUnpin, map[int]string{
			1: "run `pincluster pin rm " + meta.String() + "`, which removes its shards and cluster-DAG with it",
			2: dag.String() + " is the cluster-DAG of a sharded add: unpin its meta-pin " + meta.String() + ", which removes every shard",
			3: shard.String() + " is a shard of a sharded add: unpin its meta-pin (pin ls --filter meta-pin), which removes every shard",
		}},
	}
	for _, tc := range cases {
		t.Run(string(tc.op), func(t *testing.T) {
			deps := seed()
			svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
			evs, sum, err := run(t, svc, tc.op, input, api.PinOptions{Name: "renamed"})
			if err != nil || sum.Failed != 3 || sum.OK != 1 {
				t.Fatalf("%+v %v", sum, err)
			}
			for _, ev := range evs {
				if ev.Line == 0 {
					continue
				}
				if !strings.Contains(ev.Error, tc.want[ev.Line]) || tc.want[ev.Line] == "" {
					t.Errorf("line %d: %q, want %q", ev.Line, ev.Error, tc.want[ev.Line])
				}
			}
			for _, c := range []api.Cid{meta, dag, shard} {
				if p, ok := deps.pins[c.String()]; !ok || p.Type == api.PinTypeData {
					t.Errorf("%s changed: %+v", c, p)
				}
			}
			_, plainLeft := deps.pins[plain.String()]
			if plainLeft != (tc.op == api.BatchPin) {
				t.Errorf("the ordinary line was not applied")
			}
		})
	}
}

// A CID named again in the same run compares against what the run's earlier lines left, in
// the same chunk and in a later one that the snapshot does not show them to: the last line
// decides, one op is committed, and a rerun changes nothing.
func TestRunRepeatedCid(t *testing.T) {
	x := `{"cid":"` + cidA + `","name":"%s"}` + "\n"
	fill := genCids(t, ChunkLines)
	cases := []struct {
		name, input string
		op          api.BatchOp
		wantName    string
		wantOps     int // committed on the first run
	}{
		{"three names in one chunk", fmt.Sprintf(x+x+x, "a", "b", "c"), api.BatchPin, "c", 1},
		{"same line in two chunks", fmt.Sprintf(x, "a") + fill + fmt.Sprintf(x, "a"), api.BatchPin, "a", 1 + ChunkLines},
		{"other name in a later chunk", fmt.Sprintf(x, "a") + fill + fmt.Sprintf(x, "b"), api.BatchPin, "b", 2 + ChunkLines},
		// Line 1 of chunk 16 reads a renewed snapshot, which may miss chunk 15's commit (in
		// flight when it was opened).
		{"same line across a snapshot renewal", genCids(t, snapshotChunks*ChunkLines-ChunkLines-1) + fmt.Sprintf(x+x, "a", "a"),
			api.BatchPin, "a", (snapshotChunks - 1) * ChunkLines},
		{"unpin twice in two chunks", cidA + "\n" + fill + cidA + "\n", api.BatchUnpin, "", 1 + ChunkLines},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			deps := newMemDeps()
			deps.frozen = true
			svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
			if tc.op == api.BatchUnpin {
				if _, _, err := run(t, svc, api.BatchPin, tc.input, api.PinOptions{}); err != nil {
					t.Fatal(err)
				}
				deps.committed = nil
			}
			_, sum, err := run(t, svc, tc.op, tc.input, api.PinOptions{})
			ops := 0
			for _, n := range deps.committed {
				ops += n
			}
			if err != nil || sum.Failed != 0 || ops != tc.wantOps {
				t.Fatalf("%+v %v: %d ops committed, want %d", sum, err, ops, tc.wantOps)
			}
			p, ok := deps.pins[mustCid(t, cidA)]
			if ok != (tc.op == api.BatchPin) || p.Name != tc.wantName {
				t.Fatalf("stored %v %+v, want name %q", ok, p.PinOptions, tc.wantName)
			}
			if tc.name == "other name in a later chunk" {
				return // its first line changes the name back on a rerun
			}
			commits := deps.commits
			_, sum, err = run(t, svc, tc.op, tc.input, api.PinOptions{})
			if err != nil || sum.Unchanged != sum.OK || deps.commits != commits || deps.pins[mustCid(t, cidA)].Name != tc.wantName {
				t.Fatalf("rerun: %+v %v, %d commits (was %d)", sum, err, deps.commits, commits)
			}
		})
	}
}

// A full tracker queue refuses chunks that pin; a rerun that changes nothing and an unpin
// (which drains the queue) go through.
func TestRunFullQueueRefusesOnlyPins(t *testing.T) {
	deps := newMemDeps()
	svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	input := genCids(t, ChunkLines+5)
	if _, _, err := run(t, svc, api.BatchPin, input, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	deps.admitErr = fmt.Errorf("%w: pin %w (pin_tracker.max_pin_queue_size=10): raise it or slow the intake", api.ErrUnavailable, tracker.ErrQueueFull)
	if _, sum, err := run(t, svc, api.BatchPin, cidA+"\n", api.PinOptions{}); !errors.Is(err, tracker.ErrQueueFull) || sum.OK != 0 {
		t.Fatalf("a new pin with the queue full: %+v %v", sum, err)
	}
	admitted := deps.admitted
	if _, sum, err := run(t, svc, api.BatchPin, input, api.PinOptions{}); err != nil || sum.Unchanged != ChunkLines+5 {
		t.Fatalf("rerun with the queue full: %+v %v", sum, err)
	}
	if _, sum, err := run(t, svc, api.BatchUnpin, input, api.PinOptions{}); err != nil || sum.OK != ChunkLines+5 || len(deps.pins) != 0 {
		t.Fatalf("unpin with the queue full: %+v %v, %d pins left", sum, err, len(deps.pins))
	}
	if deps.admitted != admitted || deps.waited != 2 {
		t.Fatalf("Admit called %d times for no pins, WaitBroadcast %d times (want 2 chunks)", deps.admitted-admitted, deps.waited)
	}
}

const cidC = "bafkreie7ohywtosou76tasm7j63yigtzxe7d5zqus4zu3j6oltvgtibeom"

func mustDecode(t *testing.T, s string) api.Cid {
	t.Helper()
	c, err := api.DecodeCid(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func genCidList(t *testing.T, n int) []api.Cid {
	var out []api.Cid
	for _, s := range strings.Fields(genCids(t, n)) {
		out = append(out, mustDecode(t, s))
	}
	return out
}
