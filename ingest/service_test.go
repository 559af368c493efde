package ingest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// memDeps is an in-memory pinset: Commit stores the pins, its snapshots read them (live, not
// frozen: the service must not depend on a snapshot missing later commits).
type memDeps struct {
	mu              sync.Mutex
	pins            map[string]api.Pin
	commits         int
	committed       []int // ops per commit
	failAfter       int   // commits that succeed before Commit fails (0: never fails)
	allocErr        map[string]error
	flushed         int // commits made when Flush was last called (-1: never called)
	flushErr        error
	replicatedAsked int
	frozen          bool  // snapshots are copies, as Badger's: they miss later commits
	admitErr        error // Admit's answer (a full tracker queue)
	admitted        int   // Admit calls
	waited          int   // WaitBroadcast calls
}

func newMemDeps() *memDeps { return &memDeps{pins: map[string]api.Pin{}, flushed: -1} }

func (m *memDeps) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.frozen {
		return frozenSnap(maps.Clone(m.pins))
	}
	return m
}

func (m *memDeps) Discard() {}

func (m *memDeps) GetPins(cids []api.Cid) ([]api.Pin, []bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return frozenSnap(m.pins).GetPins(cids)
}

// frozenSnap is a snapshot of memDeps' pins as of its opening.
type frozenSnap map[string]api.Pin

func (f frozenSnap) Discard() {}

func (f frozenSnap) GetPins(cids []api.Cid) ([]api.Pin, []bool, error) {
	pins, found := make([]api.Pin, len(cids)), make([]bool, len(cids))
	for i, c := range cids {
		pins[i], found[i] = f[c.String()]
	}
	return pins, found, nil
}

func (m *memDeps) Allocate(_ context.Context, reqs []AllocRequest) ([][]peer.ID, []error, error) {
	allocs, errs := make([][]peer.ID, len(reqs)), make([]error, len(reqs))
	for i, r := range reqs {
		errs[i] = m.allocErr[r.Cid.String()]
	}
	return allocs, errs, nil
}

func (m *memDeps) Admit(context.Context, int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.admitted++
	return m.admitErr
}

func (m *memDeps) WaitBroadcast(context.Context, int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.waited++
	return nil
}

// Replicated says two of three peers hold the batch.
func (m *memDeps) Replicated(context.Context) (int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.replicatedAsked++
	return 2, 3
}

func (m *memDeps) Flush(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flushed = m.commits
	return m.flushErr
}

func (m *memDeps) Commit(_ context.Context, changes []messages.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAfter > 0 && m.commits >= m.failAfter {
		return fmt.Errorf("%w: disk full", api.ErrInsufficientStorage)
	}
	m.commits++
	m.committed = append(m.committed, len(changes))
	for _, ch := range changes {
		if ch.Kind == crdt.OpUnpin {
			delete(m.pins, ch.Pin.Cid.String())
			continue
		}
		if len(ch.PinJSON) == 0 {
			return errors.New("change without pin JSON")
		}
		m.pins[ch.Pin.Cid.String()] = ch.Pin
	}
	return nil
}

// run runs one batch and returns its events.
func run(t *testing.T, svc *Service, op api.BatchOp, input string, defaults api.PinOptions) ([]api.BatchEvent, api.BatchEvent, error) {
	t.Helper()
	var evs []api.BatchEvent
	sum, err := svc.Run(context.Background(), strings.NewReader(input), Request{Op: op, Defaults: defaults}, func(ev api.BatchEvent) error {
		evs = append(evs, ev)
		return nil
	})
	return evs, sum, err
}

func failedLines(evs []api.BatchEvent) []int {
	var out []int
	for _, ev := range evs {
		if ev.Line > 0 {
			out = append(out, ev.Line)
		}
	}
	return out
}

func TestRunBadLinesAndRerun(t *testing.T) {
	deps := newMemDeps()
	svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	// The acceptance check's file: lines 2, 5 and 8 are bad.
	input := cidA + "\nnot-a-cid\n# a comment\n" + cidB + "\n" +
		`{"cid":"bafkreie7ohywtosou76tasm7j63yigtzxe7d5zqus4zu3j6oltvgtibeom","replication_factor_min":3,"replication_factor_max":1}` +
		"\n\nbafkreie7ohywtosou76tasm7j63yigtzxe7d5zqus4zu3j6oltvgtibeom\nQmTooShort\n"
	evs, sum, err := run(t, svc, api.BatchPin, input, api.PinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := failedLines(evs); !equalInts(got, []int{2, 5, 8}) {
		t.Fatalf("failed lines %v, want [2 5 8]", got)
	}
	if !sum.Done || sum.OK != 3 || sum.Failed != 3 || sum.Unchanged != 0 || len(deps.pins) != 3 {
		t.Fatalf("summary %+v, %d pins stored", sum, len(deps.pins))
	}
	last := evs[len(evs)-1]
	if !last.Done || last.OK != 3 {
		t.Fatalf("last event %+v, want the totals", last)
	}
	// Rerun: every good line is already as asked; no op is committed.
	commits := deps.commits
	_, sum, err = run(t, svc, api.BatchPin, input, api.PinOptions{})
	if err != nil || sum.OK != 3 || sum.Unchanged != 3 || deps.commits != commits {
		t.Fatalf("rerun: %+v %v, commits %d -> %d", sum, err, commits, deps.commits)
	}
	// Other options are a change.
	_, sum, err = run(t, svc, api.BatchPin, cidA+"\n", api.PinOptions{Name: "renamed"})
	if err != nil || sum.OK != 1 || sum.Unchanged != 0 || deps.pins[mustCid(t, cidA)].Name != "renamed" {
		t.Fatalf("rename: %+v %v", sum, err)
	}
}

func mustCid(t *testing.T, s string) string {
	c, err := api.DecodeCid(s)
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// genCids returns n distinct valid CIDs, one per line.
func genCids(t testing.TB, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		h, err := multihash.Sum([]byte(fmt.Sprint(i)), multihash.SHA2_256, -1)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(gocid.NewCidV1(gocid.Raw, h).String())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestRunAcksOnlyAfterCommitAndStopsOnCommitFailure(t *testing.T) {
	deps := newMemDeps()
	deps.failAfter = 2
	svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	n := 5*ChunkLines + 7
	evs, sum, err := run(t, svc, api.BatchPin, genCids(t, n), api.PinOptions{})
	if !errors.Is(err, api.ErrInsufficientStorage) {
		t.Fatalf("err %v, want the commit's error", err)
	}
	if sum.Done {
		t.Fatal("a failed run reports Done")
	}
	acked := 0
	for _, ev := range evs {
		if ev.Line == 0 {
			acked = ev.OK
		}
	}
	if acked != 2*ChunkLines || len(deps.pins) != acked {
		t.Fatalf("acked %d, stored %d, want both %d (two commits)", acked, len(deps.pins), 2*ChunkLines)
	}
	for _, c := range deps.committed {
		if c > ChunkLines {
			t.Fatalf("a commit of %d ops, over a chunk", c)
		}
	}
}

func TestRunUnpin(t *testing.T) {
	deps := newMemDeps()
	svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	if _, _, err := run(t, svc, api.BatchPin, cidA+"\n", api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	evs, sum, err := run(t, svc, api.BatchUnpin, cidA+"\n"+cidB+"\nbad\n", api.PinOptions{})
	if err != nil || sum.OK != 2 || sum.Unchanged != 1 || sum.Failed != 1 || len(deps.pins) != 0 {
		t.Fatalf("unpin: %+v %v, %d pins left", sum, err, len(deps.pins))
	}
	if got := failedLines(evs); !equalInts(got, []int{3}) {
		t.Fatalf("failed lines %v", got)
	}
}

func TestRunAllocationErrorsFailTheirLines(t *testing.T) {
	deps := newMemDeps()
	deps.allocErr = map[string]error{mustCid(t, cidB): fmt.Errorf("%w: not enough peers", api.ErrUnavailable)}
	svc := New(deps, Config{ReplicationFactorMin: 1, ReplicationFactorMax: 2})
	evs, sum, err := run(t, svc, api.BatchPin, cidA+"\n"+cidB+"\n", api.PinOptions{})
	if err != nil || sum.OK != 1 || sum.Failed != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	if got := failedLines(evs); !equalInts(got, []int{2}) || !strings.Contains(evs[0].Error, "not enough peers") {
		t.Fatalf("events %+v", evs)
	}
	if p := deps.pins[mustCid(t, cidA)]; p.ReplicationFactorMin != 1 || p.ReplicationFactorMax != 2 {
		t.Fatalf("cluster defaults not applied: %+v", p.PinOptions)
	}
}

func TestRunStopsWhenTheClientGoesAway(t *testing.T) {
	deps := newMemDeps()
	svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	gone := errors.New("client went away")
	calls := 0
	_, err := svc.Run(context.Background(), strings.NewReader(genCids(t, 4*ChunkLines)), Request{Op: api.BatchPin}, func(ev api.BatchEvent) error {
		calls++
		if calls == 1 {
			return gone
		}
		return nil
	})
	if !errors.Is(err, gone) {
		t.Fatalf("err %v", err)
	}
	// Whatever was committed is whole pins; at most the chunks up to the one in flight.
	if len(deps.pins)%ChunkLines != 0 || len(deps.pins) > 2*ChunkLines {
		t.Fatalf("%d pins stored", len(deps.pins))
	}
}

// The end of a batch waits for its broadcast (Flush after the last commit, before Done); a
// broadcast that does not drain in time does not fail lines that are durable.
func TestRunFlushesBeforeDone(t *testing.T) {
	deps := newMemDeps()
	svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	var flushedAtDone int
	sum, err := svc.Run(context.Background(), strings.NewReader(cidA+"\n"+cidB+"\n"), Request{Op: api.BatchPin}, func(ev api.BatchEvent) error {
		if ev.Done {
			flushedAtDone = deps.flushed
		}
		return nil
	})
	if err != nil || !sum.Done || sum.OK != 2 {
		t.Fatalf("run: %+v %v", sum, err)
	}
	if flushedAtDone != deps.commits || deps.commits == 0 {
		t.Fatalf("Flush saw %d commits when Done was emitted, want all %d", flushedAtDone, deps.commits)
	}
	if sum.HeldBy != 2 || sum.Peers != 3 {
		t.Fatalf("summary held by %d of %d peers, want 2 of 3", sum.HeldBy, sum.Peers)
	}
	// A rerun that changes nothing does not wait on the other members.
	asked := deps.replicatedAsked
	if _, sum, err = run(t, svc, api.BatchPin, cidA+"\n"+cidB+"\n", api.PinOptions{}); err != nil || sum.Unchanged != 2 || sum.HeldBy != 0 || deps.replicatedAsked != asked {
		t.Fatalf("rerun: %+v %v, asked the members %d times (was %d)", sum, err, deps.replicatedAsked, asked)
	}
	deps.flushErr = fmt.Errorf("%w: 5 ops still wait for broadcast", api.ErrUnavailable)
	_, sum, err = run(t, svc, api.BatchPin, "bafkreie7ohywtosou76tasm7j63yigtzxe7d5zqus4zu3j6oltvgtibeom\n", api.PinOptions{})
	if err != nil || !sum.Done || sum.OK != 1 {
		t.Fatalf("a broadcast that does not drain failed the batch: %+v %v", sum, err)
	}
}

// A line whose expiry has passed is refused, as a single POST would be (IPFS Cluster: "pin.ExpireAt
// set before current time"); a command-line expiry applies to the lines without their own.
func TestRunRefusesPastExpiry(t *testing.T) {
	deps := newMemDeps()
	svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	input := `{"cid":"` + cidA + `","expire_at":"2020-01-02T03:04:05Z"}` + "\n" +
		`{"cid":"` + cidB + `","expire_at":"2999-01-02T03:04:05Z"}` + "\n"
	evs, sum, err := run(t, svc, api.BatchPin, input, api.PinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := failedLines(evs); !equalInts(got, []int{1}) || !strings.Contains(evs[0].Error, "not in the future") {
		t.Fatalf("failed lines %v (%+v), want [1] as not in the future", got, evs)
	}
	if sum.OK != 1 || len(deps.pins) != 1 {
		t.Fatalf("summary %+v, %d pins stored", sum, len(deps.pins))
	}
	past := api.PinOptions{ExpireAt: time.Now().Add(-time.Minute)}
	evs, sum, err = run(t, svc, api.BatchPin, cidA+"\n"+`{"cid":"`+cidA+`","expire_at":"2999-01-02T03:04:05Z"}`+"\n", past)
	if err != nil || !equalInts(failedLines(evs), []int{1}) || sum.OK != 1 {
		t.Fatalf("command-line past expiry: %+v %+v %v", evs, sum, err)
	}
}
