package tracker

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/persistence"
)

// Batch entries: a bulk change beyond the window costs one queue write per few hundred CIDs.
//
// When a pinset event brings CIDs the window has no room for (a batch ingest, or a replica
// applying one), the tracker does not decode, check or queue them one by one: it writes their
// CIDs, in order, as batch entries of the durable queue (persistence/trackqueue_batch.go).
// When the window has room for a whole entry it pages it in and decides each CID from the
// pin's record as the pinset holds it then (allocated here: pin; unpinned or allocated
// elsewhere: unpin), like onPinsetChanged would have; a CID the window holds already gets
// the operation switched if it differs. The entry is deleted once the last of its items left
// the window (settled or failed), so they cost no queue write of their own unless they fail,
// and a restart pages in again what had not settled.
//
// Decisions:
//   - An entry is taken whole (it holds at most batchMax CIDs, never more than the window), so
//     nothing records how much of it was taken.
//   - A CID queued twice (in a batch entry and on its own, or in two batch entries) is paged
//     in twice and held once; the later paging decides from the current record, so the
//     latest change wins whatever the order.
//   - A CID of a batch entry has no index: Status reports a pin allocated here that the IPFS
//     node does not hold as pin_queued while batch entries wait. A state sync reads the whole
//     queue once (TrackedSet), batch entries' CIDs included, so it does not queue them again.
//   - A restart pages the entries in again from the head: what had settled is pinned (or
//     unpinned) again, which the IPFS node answers at once.
//   - The queue's length counts an entry's CIDs until it is deleted, settled ones too (at
//     most the window's worth).

// batchMax bounds the CIDs of one batch entry (about 40 bytes each on disk).
const batchMax = 512

// batchOut adds a CID to the batch entry being built. Its queuing is told to nobody, so it
// counts as unnoted (the status digest reconciles) unless created: the change found no record
// of the CID, not even a tombstone, so its status digest entry is absent (pin_queued is shown
// by absence) but for a rare leftover: an unpin whose record was then collected or pruned
// before its own item settled, which the sixth-tick reconcile or the item's settling corrects.
// That spares every peer a whole-pinset reconcile after a batch ingest or a snapshot install.
func (a *trackerActor) batchOut(c api.Cid, unpin, created bool) {
	if !created {
		a.queuedUnnoted()
	}
	a.batch = append(a.batch, persistence.BatchItem{Cid: c, Unpin: unpin, Created: created})
	if len(a.batch) >= min(batchMax, a.cfg.QueueWindow) {
		a.flushBatch()
	}
}

// flushBatch queues the batch entry being built.
func (a *trackerActor) flushBatch() {
	if len(a.batch) == 0 {
		return
	}
	a.write(persistence.QueueOp{Kind: persistence.QueuePutBatch, Entry: persistence.QueueEntry{Batch: a.batch}}, writeTag{})
	a.batch = nil
}

// takeBatch takes a paged batch entry into the window (which has room for all of it).
func (a *trackerActor) takeBatch(ctx actor.Context, e persistence.QueueEntry) {
	live := 0
	for _, b := range e.Batch {
		pin, allocated, ok := a.batchPin(b)
		it := a.items[b.Cid.KeyString()]
		switch {
		case !ok:
		case a.unpinnedSince(b.Cid.KeyString()): // unpinned since, at the tail (pagerace.go)
		case it != nil && allocated:
			a.track(ctx, pin, nil)
		case it != nil:
			a.untrack(ctx, b.Cid, nil)
		case b.Created && !b.Unpin && b.PinJSON != nil && !allocated:
			// Queued by a pin that made the CID's first record, and live elsewhere now: the
			// cluster never pinned it here for that pin (onPinsetChanged); a later change that
			// did is an item of its own. (Unpinned since, it is unpinned, as ever.)
		case allocated:
			a.admit(ctx, b.Cid, opPin, pin.Mode, pin.Timestamp, e.Seq)
			live++
		default:
			a.admit(ctx, b.Cid, opUnpin, api.PinModeRecursive, pin.Timestamp, e.Seq)
			live++
		}
	}
	if live == 0 {
		a.delBatch(e.Seq)
		return
	}
	a.batchLive[e.Seq] += live
}

// leftBatch notes that an item left the window: the last one of its batch entry deletes it.
func (a *trackerActor) leftBatch(it *item) {
	if it.batch == 0 {
		return
	}
	if a.batchLive[it.batch]--; a.batchLive[it.batch] <= 0 {
		delete(a.batchLive, it.batch)
		a.delBatch(it.batch)
	}
}

func (a *trackerActor) delBatch(seq uint64) {
	a.write(persistence.QueueOp{Kind: persistence.QueueDelBatch, Entry: persistence.QueueEntry{Seq: seq}}, writeTag{})
}

// batchPin is the pin of a batch item as the pinset holds it and whether it is allocated
// here (not when unpinned); ok is false when its JSON does not decode (logged, left alone as
// onPinsetChanged does).
func (a *trackerActor) batchPin(b persistence.BatchItem) (pin api.Pin, allocated, ok bool) {
	if b.PinJSON == nil {
		return api.Pin{Cid: b.Cid}, false, true
	}
	if pin, ok = a.trackedPin(b.Cid, b.PinJSON); !ok {
		return pin, false, false
	}
	return pin, pin.AllocatedTo(a.peer), true
}
