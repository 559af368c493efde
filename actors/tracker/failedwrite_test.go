package tracker

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pincluster/pincluster/persistence"
)

// TestFailedWriteWithNoEntries: a write that fails before it starts (the store closed: WriteQueue returns QueueResult{},
// Entries nil) must be handled, not index res.Entries.
func TestFailedWriteWithNoEntries(t *testing.T) {
	st := testQueue(t)
	var ops sync.WaitGroup
	var ql atomic.Int64
	a := newTrackerActor(nil, "", testConfig(), nil, st, discard(), &ops, &ql)
	x := testCid(t, "x")
	it := &item{cid: x, phase: phaseSettling}
	a.items[x.KeyString()] = it
	b := &writeBatch{ops: []persistence.QueueOp{{Kind: persistence.QueueDel, Entry: persistence.QueueEntry{Cid: x}}}, tags: []writeTag{{it: it, gen: it.gen}}}
	a.writing, a.inflight = true, b
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("onQueueWritten panicked on a failed write: %v", r)
		}
	}()
	a.onQueueWritten(nil, queueWritten{w: b, res: persistence.QueueResult{}, err: persistence.ErrClosed})
}
