package tracker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/ipfs/fake"
)

// callCountingBackend counts the Pin calls in progress, a call counting until it returns or its
// context is cancelled (a cancelled call no longer holds a slot: the cid actor that made it
// cancels it before it terminates), and keeps the peak.
type callCountingBackend struct {
	*fake.Backend
	mu   sync.Mutex
	live []context.Context
	peak int
}

func newCountingBackend() *callCountingBackend { return &callCountingBackend{Backend: fake.New()} }

func (c *callCountingBackend) Pin(ctx context.Context, cid api.Cid, mode api.PinMode, progress ipfs.PinProgress) error {
	c.mu.Lock()
	c.live = append(c.live, ctx)
	n := 0
	for _, l := range c.live {
		if l.Err() == nil {
			n++
		}
	}
	c.peak = max(c.peak, n)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		for i, l := range c.live {
			if l == ctx {
				c.live = append(c.live[:i], c.live[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
	}()
	return c.Backend.Pin(ctx, cid, mode, progress)
}

func (c *callCountingBackend) Peak() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peak
}

// queueProbe is the parent of one queue actor in a message-level test: it spawns it (its
// default supervision restarts it after a crash) and passes every report to out.
type queueProbe struct {
	kind    queueKind
	cfg     Config
	backend ipfs.Backend
	ops     *sync.WaitGroup
	out     chan any
	child   chan *actor.PID
}

func (p *queueProbe) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		epoch := 0
		p.child <- ctx.Spawn(actor.PropsFromProducer(func() actor.Actor {
			epoch++
			return newQueueActor(p.kind, epoch, p.cfg, p.backend, p.ops, discard())
		}))
	case queueStarted, slotsTaken, attemptStarted, attemptFailed, runEnded:
		p.out <- m
	}
}

// queueHarness drives one queue actor by messages.
type queueHarness struct {
	t      *testing.T
	system *actor.ActorSystem
	pid    *actor.PID
	out    chan any
}

func newQueueHarness(t *testing.T, kind queueKind, cfg Config, b ipfs.Backend) *queueHarness {
	t.Helper()
	system := quietSystem()
	ops := &sync.WaitGroup{}
	p := &queueProbe{kind: kind, cfg: cfg, backend: b, ops: ops, out: make(chan any, 100), child: make(chan *actor.PID, 1)}
	probe := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return p }))
	h := &queueHarness{t: t, system: system, pid: <-p.child, out: p.out}
	t.Cleanup(func() {
		system.Root.StopFuture(probe).Wait()
		ops.Wait() // the IPFS calls were cancelled with their cid actors
	})
	if s := expect[queueStarted](h); s.kind != kind || s.epoch != 1 {
		t.Fatalf("started: %+v", s)
	}
	return h
}

func (h *queueHarness) send(m any) { h.system.Root.Send(h.pid, m) }

// expect returns the queue actor's next report, which must be a T.
func expect[T any](h *queueHarness) T {
	h.t.Helper()
	select {
	case m := <-h.out:
		r, ok := m.(T)
		if !ok {
			var want T
			h.t.Fatalf("got %T %+v, want %T", m, m, want)
		}
		return r
	case <-time.After(10 * time.Second):
		var want T
		h.t.Fatalf("no %T within 10s", want)
		panic("unreachable")
	}
}

// expectFailure returns the next attemptFailed, skipping the attemptStarted of the restart
// before it: a restarted cid actor that fails at once may fail (a system message, handled
// first) before its parent reads its OperationStarted, which is then stale and not reported.
func expectFailure(h *queueHarness) attemptFailed {
	h.t.Helper()
	for {
		select {
		case m := <-h.out:
			switch r := m.(type) {
			case attemptStarted:
				continue
			case attemptFailed:
				return r
			default:
				h.t.Fatalf("got %T %+v, want attemptFailed", m, m)
			}
		case <-time.After(10 * time.Second):
			h.t.Fatal("no attemptFailed within 10s")
		}
	}
}

func qitemOf(t *testing.T, ticket uint64, name string) qitem {
	return qitem{ticket: ticket, cid: testCid(t, name), created: time.Now(), mode: api.PinModeRecursive, op: opPin}
}

func tickets(rs []runRef) []uint64 {
	var ts []uint64
	for _, r := range rs {
		ts = append(ts, r.ticket)
	}
	return ts
}

// A queue actor starts at most the granted number of items, oldest first, says which, and
// returns the grants it has no item for.
func TestQueueActorStartsAtMostTheGrantedItems(t *testing.T) {
	b := newCountingBackend()
	h := newQueueHarness(t, queuePriority, testConfig(), b)
	var items []qitem
	for i := 1; i <= 5; i++ {
		it := qitemOf(t, uint64(i), fmt.Sprint("g", i))
		b.StallPin(it.cid)
		items = append(items, it)
	}
	h.send(queueItems{epoch: 1, items: items})
	h.send(slotGrant{epoch: 1, n: 2})
	st := expect[slotsTaken](h)
	if fmt.Sprint(tickets(st.started)) != "[1 2]" || st.unused != 0 || st.kind != queuePriority {
		t.Fatalf("first grant: %+v", st)
	}
	h.send(slotGrant{epoch: 1, n: 10})
	st = expect[slotsTaken](h)
	if fmt.Sprint(tickets(st.started)) != "[3 4 5]" || st.unused != 7 {
		t.Fatalf("second grant: %+v", st)
	}
	h.send(slotGrant{epoch: 1, n: 1})
	if st = expect[slotsTaken](h); len(st.started) != 0 || st.unused != 1 {
		t.Fatalf("empty queue: %+v", st)
	}
	// A grant for another instance (an earlier one) starts nothing and is not answered.
	g6 := qitemOf(t, 6, "g6")
	b.StallPin(g6.cid)
	h.send(queueItems{epoch: 1, items: []qitem{g6}})
	h.send(slotGrant{epoch: 7, n: 1})
	h.send(slotGrant{epoch: 1, n: 0})
	if st = expect[slotsTaken](h); len(st.started) != 0 || st.unused != 0 {
		t.Fatalf("after a stale grant: %+v", st)
	}
	waitFor(t, "five calls", func() (bool, string) {
		n := 0
		for _, it := range items {
			n += b.PinCalls(it.cid)
		}
		return n == 5, fmt.Sprint(n)
	})
	if p := b.Peak(); p > 5 {
		t.Fatalf("%d calls at once for 5 grants", p)
	}
	// Each run reports its end with its slot; the priority queue actor passes the slot to its
	// next item at once (g6), the normal one gives it back.
	b.Release(items[2].cid)
	e := expect[runEnded](h)
	if e.ticket != 3 || e.outcome != outDone || e.key != items[2].cid.KeyString() || !e.handedOver || e.next.ticket != 6 {
		t.Fatalf("done: %+v", e)
	}
	b.Release(items[3].cid)
	if e := expect[runEnded](h); e.ticket != 4 || e.handedOver {
		t.Fatalf("done with nothing queued: %+v", e)
	}
	if p := b.Peak(); p > 5 {
		t.Fatalf("%d calls at once in 5 slots", p)
	}
}

// The normal queue actor never keeps a slot for its next item: the tracker grants it, after
// the priority queue.
func TestNormalQueueActorGivesSlotsBack(t *testing.T) {
	b := fake.New()
	h := newQueueHarness(t, queueNormal, testConfig(), b)
	x, y := qitemOf(t, 1, "x"), qitemOf(t, 2, "y")
	b.StallPin(x.cid)
	b.StallPin(y.cid)
	h.send(queueItems{epoch: 1, items: []qitem{x, y}})
	h.send(slotGrant{epoch: 1, n: 1})
	expect[slotsTaken](h)
	b.Release(x.cid)
	if e := expect[runEnded](h); e.ticket != 1 || e.outcome != outDone || e.handedOver {
		t.Fatalf("done: %+v", e)
	}
	if b.PinCalls(y.cid) != 0 {
		t.Fatal("y started without a grant")
	}
}

// A failed attempt is reported with its count and error; the cid actor restarts after the
// backoff (attemptStarted) until the retries are spent: attemptFailed says it gives up, and
// runEnded frees the slot.
func TestQueueActorRetriesThenGivesUp(t *testing.T) {
	cfg := testConfig()
	cfg.PriorityPinMaxRetries = 2
	b := fake.New()
	h := newQueueHarness(t, queueNormal, cfg, b)
	it := qitemOf(t, 1, "flaky")
	b.FailPin(it.cid, errors.New("no providers"))
	h.send(queueItems{epoch: 1, items: []qitem{it}})
	h.send(slotGrant{epoch: 1, n: 1})
	expect[slotsTaken](h)
	f := expect[attemptFailed](h)
	if f.attempts != 1 || f.next != stepRetry || f.ticket != 1 || f.kind != queueNormal {
		t.Fatalf("first failure: %+v", f)
	}
	f = expectFailure(h)
	if f.attempts != 2 || f.next != stepGiveUp || f.err != fmt.Sprintf("fake pin %s: no providers", it.cid) {
		t.Fatalf("second failure: %+v", f)
	}
	if e := expect[runEnded](h); e.outcome != outGaveUp || e.ticket != 1 {
		t.Fatalf("end: %+v", e)
	}
	if n := b.PinCalls(it.cid); n != 2 {
		t.Fatalf("pin calls %d", n)
	}
}

// A pin of the priority queue actor that fails once the queue rules no longer put it there
// (too old by now) is demoted: it leaves its slot (runEnded, outDemoted) keeping its attempt
// count, for the tracker to hand it to the normal queue actor. The normal queue actor retries
// the same pin where it is.
func TestQueueActorDemotes(t *testing.T) {
	cfg := testConfig()
	cfg.PriorityPinMaxAge = time.Hour
	for _, kind := range []queueKind{queuePriority, queueNormal} {
		t.Run(kind.String(), func(t *testing.T) {
			b := fake.New()
			h := newQueueHarness(t, kind, cfg, b)
			it := qitemOf(t, 1, "old")
			it.created = time.Now().Add(-2 * time.Hour)
			it.attempts = 1
			b.FailPinTimes(it.cid, 1, errors.New("dial backoff"))
			h.send(queueItems{epoch: 1, items: []qitem{it}})
			h.send(slotGrant{epoch: 1, n: 1})
			expect[slotsTaken](h)
			f := expect[attemptFailed](h)
			if f.attempts != 2 {
				t.Fatalf("attempts %d", f.attempts)
			}
			if kind == queueNormal {
				if f.next != stepRetry {
					t.Fatalf("normal queue: %+v", f)
				}
				expect[attemptStarted](h)
				if e := expect[runEnded](h); e.outcome != outDone {
					t.Fatalf("normal queue: %+v", e)
				}
				return
			}
			if f.next != stepDemote {
				t.Fatalf("priority queue: %+v", f)
			}
			if e := expect[runEnded](h); e.outcome != outDemoted || e.ticket != 1 {
				t.Fatalf("priority queue: %+v", e)
			}
			if n := b.PinCalls(it.cid); n != 1 {
				t.Fatalf("pin calls %d: a demoted pin does not retry in the priority queue", n)
			}
		})
	}
}

// cancelRun takes a queued item out of the FIFO at once and makes a running one drain.
func TestQueueActorCancel(t *testing.T) {
	b := fake.New()
	h := newQueueHarness(t, queuePriority, testConfig(), b)
	run, queued := qitemOf(t, 1, "running"), qitemOf(t, 2, "queued")
	b.StallPin(run.cid)
	h.send(queueItems{epoch: 1, items: []qitem{run, queued}})
	h.send(slotGrant{epoch: 1, n: 1})
	expect[slotsTaken](h)
	h.send(cancelRun{epoch: 1, runRef: runRef{key: queued.cid.KeyString(), ticket: 2}})
	if e := expect[runEnded](h); e.outcome != outDropped || e.ticket != 2 {
		t.Fatalf("queued: %+v", e)
	}
	h.send(cancelRun{epoch: 1, runRef: runRef{key: run.cid.KeyString(), ticket: 1}})
	if e := expect[runEnded](h); e.outcome != outCancelled || e.ticket != 1 {
		t.Fatalf("running: %+v", e)
	}
	h.send(slotGrant{epoch: 1, n: 1})
	if st := expect[slotsTaken](h); len(st.started) != 0 || st.unused != 1 {
		t.Fatalf("the dropped item started: %+v", st)
	}
	if b.PinCalls(queued.cid) != 0 {
		t.Fatal("the dropped item was pinned")
	}
}

// crashQueue makes a queue actor panic through queueFaultHook.
type crashQueue struct{}

func crashQueueHook(t *testing.T, started func(queueKind)) {
	hook := func(k queueKind, m any) {
		switch m.(type) {
		case *actor.Started:
			if started != nil {
				started(k)
			}
		case crashQueue:
			panic("injected queue fault")
		}
	}
	queueFaultHook.Store(&hook)
	t.Cleanup(func() { queueFaultHook.Store(nil) })
}

// A queue actor that panics restarts fresh: empty, with the next epoch; its cid actors were
// stopped (their calls cancelled) and report nothing; what was sent to the crashed instance
// is ignored.
func TestQueueActorRestartsFresh(t *testing.T) {
	crashQueueHook(t, nil)
	b := newCountingBackend()
	h := newQueueHarness(t, queuePriority, testConfig(), b)
	a, c := qitemOf(t, 1, "a"), qitemOf(t, 2, "c")
	b.StallPin(a.cid)
	h.send(queueItems{epoch: 1, items: []qitem{a, c}})
	h.send(slotGrant{epoch: 1, n: 1})
	expect[slotsTaken](h)
	waitFor(t, "a pinning", func() (bool, string) { return b.PinCalls(a.cid) == 1, "" })
	h.send(crashQueue{})
	h.send(slotGrant{epoch: 1, n: 1}) // to the crashed instance: ignored by the fresh one
	if s := expect[queueStarted](h); s.epoch != 2 {
		t.Fatalf("restart: %+v", s)
	}
	h.send(slotGrant{epoch: 2, n: 2})
	if st := expect[slotsTaken](h); st.epoch != 2 || len(st.started) != 0 || st.unused != 2 {
		t.Fatalf("fresh instance: %+v", st)
	}
	waitFor(t, "a's call cancelled", func() (bool, string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.live) == 0, fmt.Sprint(len(b.live))
	})
	if b.PinCalls(c.cid) != 0 {
		t.Fatal("c started after the crash")
	}
}
