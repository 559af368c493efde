package allocator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

func TestFacade(t *testing.T) {
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	a, err := Spawn(system.Root, Config{AllocateBy: []string{"tag:region", "freespace"}}, Deps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := a.AllocateWith(ctx, Request{Cid: testCid(t, 1), Min: 3, Max: 3, Candidates: metricsOf(regions...)})
	if err != nil {
		t.Fatal(err)
	}
	if want := ids("eu1", "us1", "as1"); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", str(got), str(want))
	}
	_, err = a.AllocateWith(ctx, Request{Cid: testCid(t, 2), Min: 9, Max: 9, Candidates: metricsOf(regions...)})
	if !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	a.Stop()
	if _, err := a.AllocateWith(ctx, Request{Min: 1, Max: 1}); !errors.Is(err, ErrStopped) {
		t.Fatalf("after Stop: err = %v, want ErrStopped", err)
	}
}

func TestFacadeFollowsNewMetrics(t *testing.T) {
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	a, err := Spawn(system.Root, Config{AllocateBy: []string{"freespace"}}, Deps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m1 := metricsOf(pm{id: "a", free: 10}, pm{id: "b", free: 20})
	for i := 0; i < 2; i++ {
		got, err := a.AllocateWith(ctx, Request{Cid: testCid(t, i), Min: 1, Max: 1, Candidates: m1})
		if err != nil || !slices.Equal(got, ids("b")) {
			t.Fatalf("call %d: got %v, %v; want [b]", i, str(got), err)
		}
	}
	m2 := metricsOf(pm{id: "a", free: 30}, pm{id: "b", free: 20})
	got, err := a.AllocateWith(ctx, Request{Cid: testCid(t, 3), Min: 1, Max: 1, Candidates: m2})
	if err != nil || !slices.Equal(got, ids("a")) {
		t.Fatalf("new snapshot: got %v, %v; want [a]", str(got), err)
	}
	if _, err := a.AllocateWith(ctx, Request{Cid: testCid(t, 4), Min: 1, Max: 1}); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("no candidates: err = %v, want ErrUnavailable", err)
	}
}

func TestRankingConcurrentUse(t *testing.T) {
	r := NewRanking(Config{AllocateBy: []string{"tag:region", "freespace"}}, metricsOf(regions...))
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				got, err := r.Allocate(testCid(t, i), 3, 3, nil, nil, "")
				if err == nil && !slices.Equal(got, ids("eu1", "us1", "as1")) {
					err = fmt.Errorf("got %v", str(got))
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestSpawnRejectsBadConfig(t *testing.T) {
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	if _, err := Spawn(system.Root, Config{AllocateBy: []string{"tag:"}}, Deps{}, nil); err == nil || !strings.Contains(err.Error(), "allocate_by") {
		t.Fatalf("err = %v, want an allocate_by error", err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name    string
		by      []string
		wantErr string
	}{
		{"default", Default().AllocateBy, ""},
		{"pinqueue alone", []string{"pinqueue"}, ""},
		{"empty list", nil, "at least one metric"},
		{"empty name", []string{"freespace", " "}, "allocate_by[1] is empty"},
		{"tag without name", []string{"tag:"}, "add the tag name"},
		{"duplicate", []string{"freespace", "freespace"}, "twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{AllocateBy: tc.by}.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigJSON(t *testing.T) {
	c := Default()
	if err := json.Unmarshal([]byte(`{}`), &c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.AllocateBy, Default().AllocateBy) {
		t.Fatalf("absent key changed the value: %v", c.AllocateBy)
	}
	if err := json.Unmarshal([]byte(`{"allocate_by":["tag:region","pinqueue"]}`), &c); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"allocate_by":["tag:region","pinqueue"]}` {
		t.Fatalf("round trip: %s", b)
	}
}

// BenchmarkAllocate: 100 peers in 5 regions with freespace, replication 3, distinct CIDs.
// "fresh-metrics" prepares the candidates for every decision (the pure function);
// "same-snapshot" reuses one Ranking, as the actor does while its metrics are unchanged.
func BenchmarkAllocate(b *testing.B) {
	var ps []pm
	for i := 0; i < 100; i++ {
		ps = append(ps, pm{id: fmt.Sprintf("peer%03d", i), tags: []string{fmt.Sprintf("region=r%d", i%5)}, free: int64(1000 + i*37%101)})
	}
	cands := metricsOf(ps...)
	const nCids = 100_000
	cids := make([]api.Cid, nCids)
	for i := range cids {
		cids[i] = testCid(b, i)
	}
	cfg := Config{AllocateBy: []string{"tag:region", "freespace"}}
	run := func(b *testing.B, alloc func(c api.Cid) ([]peer.ID, error)) {
		b.ReportAllocs()
		b.ResetTimer()
		var out []peer.ID
		for i := 0; i < b.N; i++ {
			var err error
			if out, err = alloc(cids[i%nCids]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if len(out) != 3 {
			b.Fatalf("got %d peers", len(out))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	}
	b.Run("fresh-metrics", func(b *testing.B) {
		run(b, func(c api.Cid) ([]peer.ID, error) { return Allocate(cfg, c, 3, 3, nil, nil, cands, "") })
	})
	b.Run("same-snapshot", func(b *testing.B) {
		r := NewRanking(cfg, cands)
		run(b, func(c api.Cid) ([]peer.ID, error) { return r.Allocate(c, 3, 3, nil, nil, "") })
	})
}
