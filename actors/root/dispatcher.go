package root

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// workerIdle is how long a worker waits for the next mailbox run before it ends.
const workerIdle = 10 * time.Second

// dispatcherThroughput is protoactor's default: messages a mailbox run takes before it yields.
const dispatcherThroughput = 300

// workerDispatcher runs the children's mailboxes on workers that wait for the next run instead
// of on a new goroutine per run. protoactor's default dispatcher starts a goroutine each time a
// mailbox turns from idle to busy, and the hot children's handlers (the pinset's commit, the
// tracker, the batcher) reach deep into Badger: every such goroutine grew its stack by copying
// it, and runtime.newstack was 6.5% of a daemon's CPU under single POSTs with 16 clients.
//
// Schedule hands the run to a waiting worker, or starts a worker when none waits, so a run
// never waits for a worker: the concurrency is the default dispatcher's. A worker that finds no
// run within workerIdle ends, so the workers shrink back to none once the load stops. It is the
// actor runtime's own scheduling, not a loop of ours: each worker only runs mailboxes.
//
// When the root actor stops for good (the tree's end), stop releases the waiting workers at
// once instead of after workerIdle; a run scheduled after that still runs, on a worker that
// ends with it.
type workerDispatcher struct {
	runs     chan func() // unbuffered: a send succeeds only into a waiting worker
	idle     time.Duration
	workers  atomic.Int64 // running or waiting
	stopped  chan struct{}
	stopOnce sync.Once
}

func newWorkerDispatcher() *workerDispatcher {
	return &workerDispatcher{runs: make(chan func()), idle: workerIdle, stopped: make(chan struct{})}
}

// stop ends the waiting workers (and each running one after its run).
func (d *workerDispatcher) stop() {
	d.stopOnce.Do(func() { close(d.stopped) })
}

var _ actor.Dispatcher = (*workerDispatcher)(nil)

func (d *workerDispatcher) Schedule(fn func()) {
	select {
	case d.runs <- fn:
	default:
		d.workers.Add(1)
		go d.work(fn)
	}
}

func (d *workerDispatcher) Throughput() int { return dispatcherThroughput }

func (d *workerDispatcher) work(fn func()) {
	defer d.workers.Add(-1)
	idle := time.NewTimer(d.idle)
	defer idle.Stop()
	for {
		fn()
		idle.Reset(d.idle)
		select {
		case fn = <-d.runs:
		case <-idle.C:
			return
		case <-d.stopped:
			return
		}
	}
}
