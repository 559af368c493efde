package memtrim

import (
	"log/slog"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/internal/poll"
)

// fakeHeap is the reclaimable figure the test sets; reads counts the actor's checks.
type fakeHeap struct {
	value, reads atomic.Uint64
	frees        atomic.Int64
	allocRate    atomic.Uint64 // bytes "allocated" per check
	alloc        atomic.Uint64
}

func (f *fakeHeap) allocated() uint64 { return f.alloc.Add(f.allocRate.Load()) }

func (f *fakeHeap) reclaimable() uint64 {
	f.reads.Add(1)
	return f.value.Load()
}

// spawnDeps starts the actor with deps under a fresh root.
func spawnDeps(t *testing.T, deps Deps) {
	t.Helper()
	r, err := root.Spawn(actor.NewActorSystem(), root.Config{}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	if _, err := Spawn(r, deps, slog.Default()); err != nil {
		t.Fatal(err)
	}
}

// spawnTrim starts the actor over a fakeHeap.
func spawnTrim(t *testing.T, threshold uint64) *fakeHeap {
	t.Helper()
	f := &fakeHeap{}
	deps := Deps{
		Every:       time.Millisecond,
		Threshold:   threshold,
		Free:        func() { f.frees.Add(1) },
		Reclaimable: f.reclaimable,
		Allocated:   f.allocated,
	}
	spawnDeps(t, deps)
	return f
}

// waitFor polls cond: the ticks are the actor's own timers.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll.Until(10*time.Second, time.Millisecond, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// waitChecks waits until the actor has made n more checks. A check and its Free run in one
// Receive, so once a later check has started, every Free of the earlier ones has returned.
func waitChecks(t *testing.T, f *fakeHeap, n uint64) {
	t.Helper()
	from := f.reads.Load()
	waitFor(t, "the actor's checks", func() bool { return f.reads.Load() >= from+n })
}

func TestTrimsOnlyPastThreshold(t *testing.T) {
	f := spawnTrim(t, 100)
	f.value.Store(99)
	waitChecks(t, f, 10)
	if n := f.frees.Load(); n != 0 {
		t.Fatalf("trimmed %d times below the threshold", n)
	}
	f.value.Store(100)
	waitFor(t, "a trim at the threshold", func() bool { return f.frees.Load() > 0 })
	// It keeps checking: back under the threshold, the count stops growing.
	f.value.Store(0)
	waitChecks(t, f, 2)
	n := f.frees.Load()
	waitChecks(t, f, 10)
	if m := f.frees.Load(); m != n {
		t.Fatalf("trimmed %d more times with nothing reclaimable", m-n)
	}
}

func TestMetricsExist(t *testing.T) {
	// A renamed metric would make reclaimable return 0 forever, silently.
	known := map[string]metrics.ValueKind{}
	for _, d := range metrics.All() {
		known[d.Name] = d.Kind
	}
	for _, name := range []string{freeMetric, objectsMetric, liveMetric, allocsMetric} {
		if k, ok := known[name]; !ok || k != metrics.KindUint64 {
			t.Errorf("runtime/metrics has no uint64 %s", name)
		}
	}
}

// During a burst (Threshold or more allocated per check) nothing is trimmed, however much is
// reclaimable; once it ends, the heap is trimmed.
func TestNoTrimDuringABurst(t *testing.T) {
	f := &fakeHeap{}
	f.allocRate.Store(100)
	f.value.Store(1000)
	checks := atomic.Uint64{}
	deps := Deps{Every: time.Millisecond, Threshold: 100, Free: func() { f.frees.Add(1) }, Reclaimable: f.reclaimable,
		Allocated: func() uint64 { checks.Add(1); return f.allocated() }}
	spawnDeps(t, deps)
	waitFor(t, "checks during the burst", func() bool { return checks.Load() >= 20 })
	if n := f.frees.Load(); n != 0 {
		t.Fatalf("trimmed %d times during a burst", n)
	}
	f.allocRate.Store(99)
	waitFor(t, "a trim once the burst is over", func() bool { return f.frees.Load() > 0 })
}

// The mapped tables' pages are dropped whenever their resident bytes pass MappedBudget, burst
// or not (a long fill is one burst), and only then; the heap is left alone during a burst.
func TestMappedBudgetDuringABurst(t *testing.T) {
	f := &fakeHeap{}
	f.allocRate.Store(100)
	f.value.Store(1000)
	var resident, checks, releases atomic.Uint64
	resident.Store(100)
	deps := Deps{Every: time.Millisecond, Threshold: 100, Free: func() { f.frees.Add(1) }, Reclaimable: f.reclaimable,
		Allocated: f.allocated, Dir: "/nonexistent", MappedBudget: 100, MappedEvery: time.Millisecond,
		ResidentMapped: func(string) (uint64, error) { checks.Add(1); return resident.Load(), nil },
		ReleaseMapped:  func(string) (uint64, error) { releases.Add(1); return 1, nil }}
	spawnDeps(t, deps)
	waitFor(t, "checks during the burst", func() bool { return checks.Load() >= 20 })
	if n := releases.Load(); n != 0 {
		t.Fatalf("dropped mapped pages %d times at the budget", n)
	}
	resident.Store(101)
	waitFor(t, "mapped pages dropped over the budget", func() bool { return releases.Load() > 0 })
	if n := f.frees.Load(); n != 0 {
		t.Fatalf("trimmed the heap %d times during a burst", n)
	}
}
