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
// the operation switched if it differs. The CIDs become memory-only items and the entry is
// deleted, so they cost no further queue write unless they fail.
//
// Decisions:
//   - An entry is taken whole (it holds at most batchMax CIDs, never more than the window), so
//     nothing records how much of it was taken.
//   - A CID queued twice (in a batch entry and on its own, or in two batch entries) is paged
//     in twice and held once; the later paging decides from the current record, so the
//     latest change wins whatever the order.
//   - A CID of a batch entry has no index: Status reports a pin allocated here that the IPFS
//     node does not hold as pin_queued while batch entries wait, and Tracked counts it as
//     tracked, so a state sync does not queue every such CID a second time (it finds what is
//     missing in a later run, once the batch entries are paged in).
//   - A crash loses what was paged in from a deleted entry and not settled: the state sync
//     re-derives it, as for any memory-only item (window.go).

// batchMax bounds the CIDs of one batch entry (about 40 bytes each on disk).
const batchMax = 512

// batchOut adds a CID to the batch entry being built.
func (a *trackerActor) batchOut(c api.Cid, unpin bool) {
	a.batch = append(a.batch, persistence.BatchItem{Cid: c, Unpin: unpin})
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

// takeBatch takes a paged batch entry into the window (which has room for all of it) and
// deletes the entry.
func (a *trackerActor) takeBatch(ctx actor.Context, e persistence.QueueEntry) {
	for _, b := range e.Batch {
		pin, allocated, ok := a.batchPin(b)
		it := a.items[b.Cid.KeyString()]
		switch {
		case !ok:
		case it != nil && allocated:
			a.track(ctx, pin, nil)
		case it != nil:
			a.untrack(ctx, b.Cid, nil)
		case allocated:
			a.admit(ctx, b.Cid, opPin, pin.Mode, pin.Timestamp)
		default:
			a.admit(ctx, b.Cid, opUnpin, api.PinModeRecursive, pin.Timestamp)
		}
	}
	a.write(persistence.QueueOp{Kind: persistence.QueueDelBatch, Entry: persistence.QueueEntry{Seq: e.Seq}}, writeTag{})
}

// batchPin is the pin of a batch item as the pinset holds it and whether it is allocated
// here (not when unpinned); ok is false when its JSON does not decode (logged, left alone as
// onPinsetChanged does).
func (a *trackerActor) batchPin(b persistence.BatchItem) (pin api.Pin, allocated, ok bool) {
	if b.PinJSON == nil {
		return api.Pin{Cid: b.Cid}, false, true
	}
	f, err := decodeTracked(b.PinJSON)
	if err != nil {
		a.logger.Error("tracker: undecodable pin in the pinset", "cid", b.Cid, "err", err)
		return api.Pin{}, false, false
	}
	pin = api.Pin{Cid: b.Cid, Allocations: f.Allocations, Timestamp: f.Timestamp}
	pin.Mode = f.Mode
	return pin, pin.AllocatedTo(a.peer), true
}
