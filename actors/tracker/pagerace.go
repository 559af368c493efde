package tracker

import "github.com/pincluster/pincluster/persistence"

// Puts racing a page read. A page read runs in a worker while the tracker goes on queueing: a
// put of a CID the window does not hold (Track, Untrack, a state sync's) may land after the
// read saw the CID's older entry. Taken as read, that older operation would run, and its
// settling (QueueDel, by CID) would delete the newer entry: a pin taken from the page while
// the CID's unpin waited behind it left the CID pinned on the node with a tombstone record
// and nothing queued. So the tracker notes the puts that may land after a read began, and
// leaves out of the page what they made stale:
//   - a single entry whose CID a single put of the other operation touched: that put moved
//     the CID's entry to the tail, where the next pages find it;
//   - a batch entry's CID that a single put touched: the put's entry, at the tail, is the
//     CID's latest.
//
// A batch put makes nothing stale: its entry, at the tail, is decided from the record when
// paged, and switches the window's item if the page's older copy put one there. A refused
// put (a pin, the queue full) that lands before the page is forgotten; one that lands after
// it may have left out an entry that was not stale, which waits for the next restart's pages
// (the state sync meanwhile tracks the pinset's latest).

// putKind is what a put did to a CID: queued its pin or its unpin on its own, or put it in a
// batch entry.
type putKind uint8

const (
	putPin putKind = iota + 1
	putUnpin
	putBatch
)

// notePuts records the CIDs op puts, while a page is read.
func (a *trackerActor) notePuts(op persistence.QueueOp) {
	switch op.Kind {
	case persistence.QueuePut:
		k := putPin
		if op.Entry.Unpin {
			k = putUnpin
		}
		a.putWhilePaging[op.Entry.Cid.KeyString()] = k
	case persistence.QueuePutBatch:
		for _, it := range op.Entry.Batch {
			if _, single := a.putWhilePaging[it.Cid.KeyString()]; !single {
				a.putWhilePaging[it.Cid.KeyString()] = putBatch
			}
		}
	}
}

// pageStarts notes the puts not written yet as a page read begins.
func (a *trackerActor) pageStarts() {
	clear(a.putWhilePaging)
	for _, b := range []*writeBatch{&a.pending, a.inflight} {
		if b == nil {
			continue
		}
		for _, op := range b.ops {
			a.notePuts(op)
		}
	}
}

// putRefused forgets a refused put of c (it touched nothing) unless a later one did.
func (a *trackerActor) putRefused(op persistence.QueueOp) {
	k := op.Entry.Cid.KeyString()
	if a.putWhilePaging[k] == putPin && !op.Entry.Unpin {
		delete(a.putWhilePaging, k)
	}
}

// staleSingle reports whether the page's entry e is older than a put made while it was read.
func (a *trackerActor) staleSingle(e persistence.QueueEntry) bool {
	k, ok := a.putWhilePaging[e.Cid.KeyString()]
	return ok && k != putBatch && (k == putUnpin) != e.Unpin
}

// staleInBatch reports whether a single put made while the page was read queued the batch
// item b's CID after it.
func (a *trackerActor) staleInBatch(b persistence.BatchItem) bool {
	k, ok := a.putWhilePaging[b.Cid.KeyString()]
	return ok && k != putBatch
}
