package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/pincluster/pincluster/api"
)

// Batch entries: the overflow of a bulk change in one queue entry.
//
// A batch ingest or a replica applying one makes the tracker queue every CID beyond its
// window. One entry and one CID index key per CID (plus a read to find a queued entry of the
// CID) was a fifth of a replica's CPU during a 3-peer batch ingest. A batch entry holds up to
// a few hundred CIDs in one value at one seq, with no CID index and no read: the tracker
// decides what to do with each CID only when it pages the entry in, from the pin's record as
// the pinset holds it then (QueuePage reads them), so a batch entry needs neither
// deduplication nor updates. The costs, accepted: a CID of a batch entry is not found by
// QueueGet (the tracker reports a pin allocated here, not pinned, while batch entries wait,
// as queued: QueueBatched), and a CID queued twice is paged in twice (the window holds it
// once).

// flagBatch marks a batch entry's value: flags(1) | uvarint seq | uvarint count | per CID:
// flags(1: 1 unpin, 2 created) | uvarint len | CID.
const flagBatch = 8

// BatchItem is one CID of a batch entry.
type BatchItem struct {
	Cid   api.Cid
	Unpin bool // the change that queued it (IterateQueue reports it; paging reads the record)
	// Created: that change made the CID's first record on this peer (crdt.Created). Older
	// entries, and versions before the flag, read it as false.
	Created bool
	// Set by QueuePage: the pin's JSON when the pinset holds it live (nil: unpinned or
	// unknown). It aliases nothing.
	PinJSON []byte
}

// QueueBatched is the number of CIDs in batch entries.
func (s *Store) QueueBatched() int { return int(s.queueBatched.Load()) }

// applyBatchOp applies a QueuePutBatch or QueueDelBatch in txn. A put stores, at the next seq,
// every unpin and the pins that fit under limit (all when limit <= 0), in order, and reports
// refused when some pin did not fit; the returned entry holds the stored CIDs.
func applyBatchOp(txn *badger.Txn, op QueueOp, c *queueCounters, limit int) (QueueEntry, bool, error) {
	if op.Kind == QueueDelBatch {
		key := seqKey(op.Entry.Seq)
		old, ok, err := getQueueEntryOpt(txn, key)
		if err != nil || !ok {
			return old, false, err
		}
		if old.Batch == nil {
			return old, false, fmt.Errorf("entry %d is not a batch", op.Entry.Seq)
		}
		c.length -= int64(len(old.Batch))
		c.batched -= int64(len(old.Batch))
		return old, false, txn.Delete(key)
	}
	items := op.Entry.Batch
	if limit > 0 && c.length+int64(len(items)) > int64(limit) {
		// Pins beyond the limit are refused, in order; unpins never are (applyQueueOp).
		room := max(0, int64(limit)-c.length)
		items = slices.DeleteFunc(slices.Clone(items), func(it BatchItem) bool {
			if it.Unpin {
				return false
			}
			if room > 0 {
				room--
				return false
			}
			return true
		})
	}
	refused := len(items) < len(op.Entry.Batch)
	if len(items) == 0 {
		return QueueEntry{}, refused, nil
	}
	c.seq++
	e := QueueEntry{Seq: c.seq, Batch: items}
	if err := txn.Set(seqKey(e.Seq), encodeBatchEntry(e)); err != nil {
		return QueueEntry{}, false, err
	}
	c.length += int64(len(items))
	c.batched += int64(len(items))
	return e, refused, nil
}

// readBatchRecords sets each item's PinJSON from the pinset's record in txn.
func readBatchRecords(txn *badger.Txn, items []BatchItem) error {
	for i := range items {
		item, err := txn.Get(pinKey(items[i].Cid))
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := item.Value(func(v []byte) error {
			if js := pinJSONOf(v); js != nil {
				items[i].PinJSON = append([]byte(nil), js...)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// eachEntry calls fn for e, or for each CID of a batch entry.
func eachEntry(e QueueEntry, fn func(QueueEntry) error) error {
	if e.Batch == nil {
		return fn(e)
	}
	for _, it := range e.Batch {
		if err := fn(QueueEntry{Seq: e.Seq, Cid: it.Cid, Unpin: it.Unpin, Mode: api.PinModeRecursive}); err != nil {
			return err
		}
	}
	return nil
}

func encodeBatchEntry(e QueueEntry) []byte {
	v := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(e.Batch)*40)
	v = append(v, flagBatch)
	v = binary.AppendUvarint(v, e.Seq)
	v = binary.AppendUvarint(v, uint64(len(e.Batch)))
	for _, it := range e.Batch {
		var f byte
		if it.Unpin {
			f |= 1
		}
		if it.Created {
			f |= 2
		}
		b := it.Cid.Bytes()
		v = append(v, f)
		v = binary.AppendUvarint(v, uint64(len(b)))
		v = append(v, b...)
	}
	return v
}

func decodeBatchEntry(v []byte) (QueueEntry, error) {
	bad := func(what string) (QueueEntry, error) {
		return QueueEntry{}, fmt.Errorf("persistence: corrupt tracker queue batch entry of %d bytes: %s", len(v), what)
	}
	rest := v[1:]
	seq, k := binary.Uvarint(rest)
	if k <= 0 {
		return bad("seq")
	}
	rest = rest[k:]
	n, k := binary.Uvarint(rest)
	// Every CID takes at least 3 bytes: a count beyond that is corrupt, not an allocation.
	if k <= 0 || n == 0 || n > uint64(len(rest))/3 {
		return bad("count")
	}
	rest = rest[k:]
	items := make([]BatchItem, 0, n)
	for range n {
		if len(rest) < 2 {
			return bad("truncated")
		}
		f := rest[0]
		l, k := binary.Uvarint(rest[1:])
		if k <= 0 || uint64(len(rest)-1-k) < l {
			return bad("CID length")
		}
		rest = rest[1+k:]
		c, err := api.CastCid(rest[:l])
		if err != nil {
			return QueueEntry{}, fmt.Errorf("persistence: tracker queue batch entry: %w", err)
		}
		items = append(items, BatchItem{Cid: c, Unpin: f&1 != 0, Created: f&2 != 0})
		rest = rest[l:]
	}
	if len(rest) != 0 {
		return bad("trailing bytes")
	}
	return QueueEntry{Seq: seq, Batch: items}, nil
}
