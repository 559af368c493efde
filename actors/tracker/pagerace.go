package tracker

import "github.com/pincluster/pincluster/persistence"

// Puts racing a page read. A page read runs in a worker while the tracker goes on queueing: a
// put of a CID the window does not hold (Track, Untrack, a state sync's) may land after the
// read saw the CID's older entry. Taken as read, that older operation would run, and its
// settling (QueueDel, by CID) would delete the newer entry: a pin taken from the page while
// the CID's unpin waited behind it left the CID pinned on the node with a tombstone record
// and nothing queued, and once that tombstone is collected nothing unpins it.
//
// So the tracker notes, while a page is read, the CIDs whose latest put is a single unpin
// (unpinWhilePaging: pending or in flight when the read began, or made since), and leaves out
// of the page what such a put made stale: a CID's pin entry (the unpin moved it to the tail),
// and a batch entry's item of the CID (the unpin's entry, at the tail, is the CID's latest).
// The next pages find the unpin.
//
// Decisions:
//   - Only unpins are noted. A pin put may be refused (the queue full), and one refused after
//     the page was handled would have left out an entry that was not stale, past the cursor
//     until a restart. A stale unpin copy taken instead of a newer pin only delays the pin:
//     the state sync tracks again a pin allocated here that the node lacks.
//   - A later pin put or batch put of the CID ends its note: its entry, at the tail, is newer
//     than the unpin (a batch entry decides from the record when paged, and switches the
//     window's item).
//   - A failed pin's record (QueueFail) ends the CID's note too: the window's latest word on
//     it is that pin (it came back in memory only, with no put).
//   - A QueueDel or QueueFail landing during a read marks the seq of the entry it removed
//     (evictedWhilePaging), whether or not its item leaves the window then (it may have
//     changed meanwhile, without a put): the page skips that entry and older ones of the
//     CID, and takes any put or requeue made since, which has a higher seq.
//   - The notes are made in write order: the writes in flight, then those pending.
//   - A restarted instance's notes know nothing of the old instance's write in flight, so the
//     restart waits for it to land (awaitWriter) before the fresh instance reads a page.

// notePuts updates the notes for op, a write made or waiting while a page is read.
func (a *trackerActor) notePuts(op persistence.QueueOp) {
	switch op.Kind {
	case persistence.QueuePut:
		k := op.Entry.Cid.KeyString()
		if op.Entry.Unpin {
			a.unpinWhilePaging[k] = struct{}{}
		} else {
			delete(a.unpinWhilePaging, k)
		}
	case persistence.QueueFail:
		if !op.Entry.Unpin {
			delete(a.unpinWhilePaging, op.Entry.Cid.KeyString())
		}
	case persistence.QueuePutBatch:
		if len(a.unpinWhilePaging) == 0 {
			return
		}
		for _, it := range op.Entry.Batch {
			delete(a.unpinWhilePaging, it.Cid.KeyString())
		}
	}
}

// noteRemoved marks seq, the queued entry that op (a QueueDel or QueueFail) removed while a
// page is read (0: none): dead whether or not its item leaves the window now (it may have
// changed meanwhile without a put), so the page must not take it.
func (a *trackerActor) noteRemoved(op persistence.QueueOp, seq uint64) {
	if !a.paging || seq == 0 {
		return
	}
	k := op.Entry.Cid.KeyString()
	a.evictedWhilePaging[k] = max(a.evictedWhilePaging[k], seq)
}

// pageStarts notes the puts not written yet as a page read begins.
func (a *trackerActor) pageStarts() {
	// Fresh maps: clear keeps a large one's memory.
	a.evictedWhilePaging, a.unpinWhilePaging = map[string]uint64{}, map[string]struct{}{}
	for _, b := range []*writeBatch{a.inflight, &a.pending} { // in write order
		if b == nil {
			continue
		}
		for _, op := range b.ops {
			a.notePuts(op)
		}
	}
}

// unpinnedSince reports whether a single unpin of c was put while the page was read, after
// the copy of c's entries the page holds.
func (a *trackerActor) unpinnedSince(c string) bool {
	_, ok := a.unpinWhilePaging[c]
	return ok
}
