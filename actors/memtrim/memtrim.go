// Package memtrim gives the daemon's freed heap back to the kernel soon after a burst of work
// (a batch ingest, a listing of the pinset, a catch-up), instead of holding it for minutes.
//
// Why: measured on one peer ingesting 1M unfetchable pins (pin add --from), the live Go heap
// settles at 60-100 MB (Badger memtables, the tracker's window), but during the ingest it
// peaks at 300-480 MB, almost all of it Badger's compaction table builders (z.Allocator
// buffers). The GC's goal follows that peak (twice the live heap, capped by the soft memory
// limit), and the runtime's background scavenger returns the freed pages slowly and only
// down to about that goal: RssAnon stayed at 580-700 MB after the ingest and after a listing
// and took several minutes to fall. A lower soft limit does not fix it: with GOMEMLIMIT=300MiB
// the GC ran 15 times as often and the ingest rate halved (4.8k against 9.8k pins/s).
//
// So every Every (10 s), once the burst is over (less than Threshold allocated since the last
// check: trimming during one only makes the heap fault its pages back in), the actor reads how
// much of the resident heap is reclaimable: free spans not yet returned to the kernel plus what
// the heap holds beyond the live bytes of the last GC (dead objects awaiting the next cycle;
// runtime/metrics) and, past Threshold (64 MiB), calls debug.FreeOSMemory: one forced GC and a
// full scavenge. While the daemon is idle or settled nothing is reclaimable, so nothing runs;
// during a burst nothing runs either (trimming then cost a replicated ingest on 2 cores a fifth
// more CPU per peer, the freed pages being faulted back at once), and the trim comes at the first
// quiet check after it. The peak (VmHWM) is unchanged; what changes is how long the daemon holds
// it: 30 s after a 1M-pin ingest and listing, RssAnon was 81 MB instead of 429 MB. Ticks are
// scheduled messages (actors/timer); FreeOSMemory runs in the actor's Receive, which blocks only
// this actor's mailbox for the length of one GC. At the same quiet checks it also drops the
// resident pages of Badger's memory-mapped tables from the process (mapped.go).
//
// Those pages are also dropped, burst or not, whenever the tables' own resident bytes pass
// MappedBudget (256 MiB), checked every MappedEvery (1 s): a pass over ten million pins (a
// listing, a status, the healer's state sync, the status digest's reconcile) reads 2 GB of
// tables, and each page it read stayed in the resident set until the pass ended and the
// daemon was quiet again. Measured on one peer holding 10M queued pins, restarted (the state
// sync and reconcile run at the start), then a listing and a status --local once it was
// idle: VmRSS peaked at 657-702 MB against 2,150-2,296 MB with the former budget (1 GiB of all
// resident file pages, checked every 10 s), both settling at 145-150 MB; the listing took
// 14.4-22.1 s against 14.4-15.2 s and the status 43-54 s against 41-45 s (three pairs of
// alternating runs, one hour).
// The budget counts the tables' pages present in this process (/proc/self/pagemap), not
// RssFile: a budget of 256 MiB on RssFile, which counts the binary's text and the other maps
// too, kept dropping the pages a busy daemon with small tables was reading (three peers
// replicating 200k pins converged 1-2 s later). Tables under the budget (a daemon holding
// less than about a million pins) are dropped only at the quiet checks, as before.
package memtrim

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/actors/timer"
)

// Defaults: Every and Threshold of a daemon.
const (
	DefaultEvery        = 10 * time.Second
	DefaultThreshold    = 64 << 20
	DefaultMappedBudget = 256 << 20
	DefaultMappedEvery  = time.Second
)

// The runtime/metrics read by reclaimable.
const (
	freeMetric    = "/memory/classes/heap/free:bytes"    // free spans, resident, not yet released
	objectsMetric = "/memory/classes/heap/objects:bytes" // live and not-yet-swept dead objects
	liveMetric    = "/gc/heap/live:bytes"                // live heap marked by the last GC
	allocsMetric  = "/gc/heap/allocs:bytes"              // allocated since the process started
)

// Deps configure the actor.
type Deps struct {
	Every     time.Duration // time between checks
	Threshold uint64        // reclaimable resident heap bytes above which the heap is trimmed
	// Free returns the memory to the kernel; debug.FreeOSMemory when nil (tests count calls).
	Free func()
	// Reclaimable reads the reclaimable resident heap bytes; runtime/metrics when nil (tests).
	Reclaimable func() uint64
	// Allocated reads the bytes allocated since the process started; runtime/metrics when nil
	// (tests).
	Allocated func() uint64
	// Dir is the pinset store's folder (absolute, links resolved, as /proc/self/maps names
	// it): the Badger tables mapped from under it are measured against MappedBudget, and
	// after a burst their resident pages that Hold holds are dropped from the process
	// (mapped.go). Empty: not done.
	Dir string
	// Hold keeps the pinset store's tables mapped while their pages are dropped
	// (persistence.Store.HoldTables). Nil: no page is dropped.
	Hold Hold
	// ReleaseMapped does that; releaseMapped (/proc/self/maps, madvise) when nil (tests).
	ReleaseMapped func(dir string) (uint64, error)
	// MappedBudget is the resident bytes of the mapped tables above which their pages are
	// dropped at once, burst or not (DefaultMappedBudget when 0); checked every MappedEvery
	// (DefaultMappedEvery when 0).
	MappedBudget uint64
	MappedEvery  time.Duration
	// ResidentMapped reads the resident bytes of the tables mapped from under Dir;
	// residentMapped (/proc/self/maps, /proc/self/pagemap) when nil (tests).
	ResidentMapped func(dir string) (uint64, error)
}

// tick is the scheduled message that starts one check; mappedTick one check of the mapped
// tables' budget.
type (
	tick       struct{}
	mappedTick struct{}
)

type trimActor struct {
	deps      Deps
	log       *slog.Logger
	timer     *time.Timer
	mapped    *time.Timer
	allocated uint64 // Allocated at the previous check
	warned    bool   // the mapped tables could not be measured (said once)
}

// Spawn starts the actor as a child of parent. Zero fields of deps take the defaults.
func Spawn(parent root.Parent, deps Deps, log *slog.Logger) (*actor.PID, error) {
	if deps.Every <= 0 {
		deps.Every = DefaultEvery
	}
	if deps.Threshold == 0 {
		deps.Threshold = DefaultThreshold
	}
	if deps.Free == nil {
		deps.Free = debug.FreeOSMemory
	}
	if deps.Reclaimable == nil {
		deps.Reclaimable = reclaimable
	}
	if deps.Allocated == nil {
		deps.Allocated = allocated
	}
	if deps.ReleaseMapped == nil {
		hold := deps.Hold
		deps.ReleaseMapped = func(dir string) (uint64, error) {
			if hold == nil {
				return 0, nil
			}
			return releaseMapped(dir, hold)
		}
	}
	if deps.MappedBudget == 0 {
		deps.MappedBudget = DefaultMappedBudget
	}
	if deps.MappedEvery <= 0 {
		deps.MappedEvery = DefaultMappedEvery
	}
	if deps.ResidentMapped == nil {
		budget := deps.MappedBudget
		deps.ResidentMapped = func(dir string) (uint64, error) { return residentMapped(dir, budget) }
	}
	log = log.With("actor", "memtrim")
	props := actor.PropsFromProducer(func() actor.Actor { return &trimActor{deps: deps, log: log} })
	return parent.SpawnNamed(props, "memtrim")
}

func (a *trimActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.allocated = a.deps.Allocated()
		a.timer = timer.After(ctx, a.deps.Every, tick{})
		if a.deps.Dir != "" {
			a.mapped = timer.After(ctx, a.deps.MappedEvery, mappedTick{})
		}
	case tick:
		a.onTick()
		a.timer = timer.After(ctx, a.deps.Every, tick{})
	case mappedTick:
		a.onMappedTick()
		a.mapped = timer.After(ctx, a.deps.MappedEvery, mappedTick{})
	case *actor.Stopping, *actor.Restarting: // a restarted instance starts its own ticks
		if a.timer != nil {
			a.timer.Stop()
		}
		if a.mapped != nil {
			a.mapped.Stop()
		}
	case *actor.Stopped:
	default:
		a.log.Warn("unexpected message", "type", fmt.Sprintf("%T", m))
	}
}

// onTick trims the heap when enough of it is reclaimable and the burst is over: while the
// daemon allocates Threshold or more per tick (an ingest allocates hundreds of MB a second),
// a trim would only be refaulted at once, and it cost a replicated ingest on 2 cores a fifth
// more CPU per peer (three daemons, 200k pins: 1,870 and 1,730 CPU ticks on the receiving
// peer against 1,350 and 1,500 without the trim).
func (a *trimActor) onTick() {
	alloc := a.deps.Allocated()
	busy := alloc-a.allocated >= a.deps.Threshold
	a.allocated = alloc
	if busy {
		return
	}
	if a.deps.Dir != "" {
		a.releaseMapped()
	}
	n := a.deps.Reclaimable()
	if n < a.deps.Threshold {
		return
	}
	start := time.Now()
	a.deps.Free()
	a.log.Debug("returned free heap to the OS", "reclaimable_bytes", n, "took", time.Since(start))
}

// onMappedTick drops the mapped tables' pages once they pass the budget.
func (a *trimActor) onMappedTick() {
	n, err := a.deps.ResidentMapped(a.deps.Dir)
	switch {
	case err != nil && !a.warned:
		a.warned = true
		a.log.Warn("cannot measure the mapped tables' resident pages (no /proc/self/pagemap?): they are dropped only after bursts", "err", err)
	case err == nil && n > a.deps.MappedBudget:
		a.releaseMapped()
	}
}

// releaseMapped drops the resident pages of the mapped tables under Dir.
func (a *trimActor) releaseMapped() {
	if n, err := a.deps.ReleaseMapped(a.deps.Dir); err != nil {
		a.log.Debug("dropping mapped table pages", "err", err)
	} else if n > 0 {
		a.log.Debug("dropped the resident pages of mapped tables", "mapped_bytes", n)
	}
}

// allocated is the bytes allocated on the heap since the process started.
func allocated() uint64 {
	s := []metrics.Sample{{Name: allocsMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// reclaimable is the resident heap a GC and a scavenge would give back: free spans plus the
// objects beyond the last GC's live bytes.
func reclaimable() uint64 {
	s := []metrics.Sample{{Name: freeMetric}, {Name: objectsMetric}, {Name: liveMetric}}
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindUint64 {
			return 0
		}
	}
	free, objects, live := s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()
	if objects > live {
		free += objects - live
	}
	return free
}
