package tracker

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
)

// The express queue: a pin whose blocks were just pushed to this peer's IPFS node (a cluster
// add: blockpush) is pinned at once, whatever waits in the window and the durable queue. The
// add waits until its allocations report the pin PINNED, and behind a backlog of pins the node
// cannot fetch (each attempt lasting pin_timeout) it waited its whole 10 minutes and failed:
// seen on a peer holding 1M unfetchable queued pins, for a 20-byte file whose blocks had been
// stored in under a millisecond.
//
// Decisions:
//   - The add's block putter tells the tracker the root of every batch of blocks it stored
//     (Tracker.Expect), so before the pin is committed; a push that fails part way leaves its
//     root expected too, which costs at most one express attempt. The tracker keeps them for
//     expectFor, at most maxExpected (the oldest go first).
//   - A pin of an expected root allocated here, that the window does not hold, is admitted
//     into the window even when it is full, queued durably (refused, and queued as any other
//     pin, when max_pin_queue_size is reached), and handed to the express queue actor. The
//     slots serve it first, with expressSlots of its own beyond concurrent_pins, but the
//     priority queue actor still hands a slot that ends to its own next item: concurrent adds
//     to one backlogged peer take turns in the express slot. Its pins find their blocks on
//     the node and take milliseconds.
//   - The jump is taken once: a failed express attempt leaves the express queue (stepDemote)
//     and retries by the queue rules after its backoff; the root is forgotten once its pin is
//     admitted. A pin the window already holds keeps its place.
//   - Expectations are memory only: after a restart of the tracker, or of the express queue
//     actor while the pin ran, the pin queues as any other.

// expressSlots are the slots the express queue may take beyond concurrent_pins.
const expressSlots = 1

// maxExpected bounds the roots the tracker expects; expectFor bounds how long.
const (
	maxExpected = 1024
	expectFor   = 10 * time.Minute
)

// expectPin tells the tracker actor that c's blocks were pushed to the node (Tracker.Expect).
type expectPin struct{ cid api.Cid }

// Expect tells the tracker that c's blocks were just stored on the IPFS node: a pin of c
// allocated here that arrives within expectFor skips the queues (express.go). It does not
// wait.
func (t *Tracker) Expect(c api.Cid) {
	t.system.Root.Send(t.pid, expectPin{cid: c})
}

// onExpect records an expected root (again: its time is renewed), dropping those past
// expectFor, and the oldest when full.
func (a *trackerActor) onExpect(m expectPin) {
	now, key := time.Now(), m.cid.KeyString()
	if a.expected == nil {
		a.expected = map[string]time.Time{}
	}
	if _, ok := a.expected[key]; !ok && len(a.expected) >= maxExpected {
		oldest, first := "", true
		var at time.Time
		for k, t := range a.expected {
			if now.Sub(t) > expectFor {
				delete(a.expected, k)
			} else if first || t.Before(at) {
				oldest, at, first = k, t, false
			}
		}
		if len(a.expected) >= maxExpected {
			delete(a.expected, oldest)
		}
	}
	a.expected[key] = now
}

// takeExpected reports whether c is an expected root (and forgets it).
func (a *trackerActor) takeExpected(c api.Cid) bool {
	ok := a.isExpected(c)
	delete(a.expected, c.KeyString())
	return ok
}

// isExpected reports whether c is an expected root, keeping it.
func (a *trackerActor) isExpected(c api.Cid) bool {
	t, ok := a.expected[c.KeyString()]
	return ok && time.Since(t) <= expectFor
}

// admitExpress admits a pin of an expected root that the window does not hold, beyond the
// window if need be, queued durably, for the express queue.
func (a *trackerActor) admitExpress(ctx actor.Context, pin api.Pin, ack *pendingAck) {
	// durable: its put is queued below (write counts an item that was not as leaving memQueued).
	it := &item{cid: pin.Cid, mode: pin.Mode, created: pin.Timestamp, op: opPin, express: true, durable: true}
	a.items[pin.Cid.KeyString()] = it
	a.enqueue(ctx, it, true)
	a.put(it.cid, false, it.mode, it.created, writeTag{it: it, ack: ack})
}
