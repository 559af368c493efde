package persistence

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/pincluster/pincluster/api"
)

// The tracker's durable queue (the pin tracker's pending work, see actors/tracker): every pin
// or unpin this peer still has to do is an entry here until it settles, so the tracker keeps
// only a bounded window of it in memory and pages the rest in, in queue order.
//
//	tq/s/<seq 8>   queued entry, in FIFO order (value: encodeQueueEntry)
//	tq/c/<cid>     the seq of the CID's queued entry
//	tq/f/<cid>     failed entry: gave up retrying, waits for a recover (value: encodeQueueEntry)
//	m/tqlen        number of queued CIDs (tq/s, a batch entry counting its CIDs), updated in
//	               the same transaction
//	m/tqseq        last seq given out
//	m/tqbatch      number of CIDs in batch entries (trackqueue_batch.go)
var (
	prefixQueueSeq    = []byte("tq/s/")
	prefixQueueCid    = []byte("tq/c/")
	prefixQueueFailed = []byte("tq/f/")
	keyQueueLen       = []byte("m/tqlen")
	keyQueueSeq       = []byte("m/tqseq")
	keyQueueBatched   = []byte("m/tqbatch")
)

// QueueEntry is one item of the tracker's durable queue.
type QueueEntry struct {
	Seq      uint64 // position in the queue (0 for failed entries; see QueueResult for Del and Fail)
	Cid      api.Cid
	Unpin    bool
	Mode     api.PinMode
	Created  time.Time // the pin's timestamp (priority_pin_max_age)
	Attempts int
	Priority bool // the queue of the last attempt
	Failed   bool // in the failed set, not queued
	Err      string
	// Batch is set on a batch entry (QueuePutBatch): its CIDs, in order, each with its pin's
	// record as QueuePage read it. Such an entry has only Seq besides.
	Batch []BatchItem
}

// QueueOpKind is what a QueueOp does.
type QueueOpKind uint8

const (
	// QueuePut queues the entry. With Seq 0 it goes to the tail, unless the CID is queued
	// already for the same operation (then it keeps its place and values); a failed entry of
	// the same operation is queued again keeping its attempts. With Seq set it is written at
	// that seq (the tracker updating an item it holds). A new CID's pin is refused when
	// WriteQueue's max entries are queued; an unpin never is.
	QueuePut QueueOpKind = iota
	// QueueFail moves the CID out of the queue into the failed set, with the entry's values.
	QueueFail
	// QueueDel removes the CID from the queue and the failed set (it settled).
	QueueDel
	// QueueRequeueFailed moves every failed entry to the tail of the queue, attempts kept.
	QueueRequeueFailed
	// QueuePutBatch queues Entry.Batch as one entry at the tail (trackqueue_batch.go); with
	// WriteQueue's max set, only the pins that fit are stored, and every unpin.
	QueuePutBatch
	// QueueDelBatch removes the batch entry at Entry.Seq.
	QueueDelBatch
	// QueueRequeueOne moves the failed entry of Entry.Cid to the tail of the queue, attempts
	// kept, if it is still failed for the same operation (Entry.Unpin) and the CID is not
	// queued: the caller's copy may be stale. The result's entry has Seq 0 when nothing moved.
	QueueRequeueOne
)

// QueueOp is one change of the durable queue.
type QueueOp struct {
	Kind  QueueOpKind
	Entry QueueEntry
}

// QueueResult reports a WriteQueue.
type QueueResult struct {
	// Entries holds, per op, the entry as stored (Seq given) for puts, and for a QueueDel or
	// QueueFail the seq of the queued entry it removed (0: none); Refused[i] is set for a put
	// refused because the queue was full.
	Entries  []QueueEntry
	Refused  []bool
	Requeued int // failed entries moved back to the queue
	Len      int // queued entries after the write
}

// queueChunk bounds the CIDs of one transaction of WriteQueue.
const queueChunk = 512

// A batch entry is one value, about 40 bytes a CID: a quarter of an op per CID.
func opUnits(op QueueOp) int { return max(1, len(op.Entry.Batch)/4) }

// WriteQueue applies ops to the tracker's queue in order, in transactions of queueChunk ops
// (one at a time; the tracker is the only caller), concurrently with the pinset's writes. max > 0 bounds the queued entries for new
// CIDs' pins (unpins are never refused). On error, the chunks before it are committed and the result says nothing of them; the
// tracker retries nothing (its state sync re-derives lost work).
func (s *Store) WriteQueue(ops []QueueOp, max int) (QueueResult, error) {
	if err := s.enter(); err != nil {
		return QueueResult{}, err
	}
	defer s.leave()
	// Its own lock, not writeMu: the queue's keys and counters are disjoint from the pinset's,
	// so its commits need not wait for the pinset's group commits (nor hold them up).
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	res := QueueResult{Entries: make([]QueueEntry, len(ops)), Refused: make([]bool, len(ops))}
	if err := s.checkWrite(); err != nil {
		return res, fmt.Errorf("persistence: tracker queue: %w", err)
	}
	for i := 0; i < len(ops); {
		if ops[i].Kind == QueueRequeueFailed {
			moved, err := s.requeueFailed()
			if err != nil {
				return res, err
			}
			res.Requeued += moved
			i++
			continue
		}
		// A transaction takes queueChunk units of ops (opUnits), at least one op.
		j, units := i, 0
		for j < len(ops) && ops[j].Kind != QueueRequeueFailed && (j == i || units+opUnits(ops[j]) <= queueChunk) {
			units += opUnits(ops[j])
			j++
		}
		txn := s.db.NewTransaction(true)
		c := s.queueCounters()
		for k := i; k < j; k++ {
			var e QueueEntry
			var refused bool
			var err error
			switch ops[k].Kind {
			case QueuePutBatch, QueueDelBatch:
				e, refused, err = applyBatchOp(txn, ops[k], &c, max)
			default:
				e, refused, err = applyQueueOp(txn, ops[k], &c, max)
			}
			if err != nil {
				txn.Discard()
				return res, fmt.Errorf("persistence: tracker queue: %w", err)
			}
			res.Entries[k], res.Refused[k] = e, refused
		}
		if err := s.commitQueue(txn, c); err != nil {
			return res, err
		}
		i = j
	}
	res.Len = int(s.queueLen.Load())
	return res, nil
}

// queueCounters are the queue's counters as one transaction changes them.
type queueCounters struct {
	length, failed, batched int64
	seq                     uint64
}

func (s *Store) queueCounters() queueCounters {
	return queueCounters{length: s.queueLen.Load(), seq: s.queueSeq.Load(), failed: s.queueFailed.Load(), batched: s.queueBatched.Load()}
}

// commitQueue writes the counters in txn, commits it and publishes them.
func (s *Store) commitQueue(txn *badger.Txn, c queueCounters) error {
	for _, kv := range []struct {
		k []byte
		v uint64
	}{{keyQueueLen, uint64(c.length)}, {keyQueueSeq, c.seq}, {keyQueueBatched, uint64(c.batched)}} {
		if err := txn.Set(kv.k, encU64(kv.v)); err != nil {
			txn.Discard()
			return err
		}
	}
	if err := s.commit(txn.Commit); err != nil {
		return fmt.Errorf("persistence: tracker queue: %w", err)
	}
	s.queueLen.Store(c.length)
	s.queueSeq.Store(c.seq)
	s.queueFailed.Store(c.failed)
	s.queueBatched.Store(c.batched)
	return nil
}

// applyQueueOp applies op in txn, keeping the counters: queued entries, last seq, and failed
// entries (while there are none, nothing looks for one).
func applyQueueOp(txn *badger.Txn, op QueueOp, c *queueCounters, max int) (QueueEntry, bool, error) {
	length, seq, failed := &c.length, &c.seq, &c.failed
	e := op.Entry
	ck := queueKey(prefixQueueCid, e.Cid.Bytes())
	oldSeq, queued, err := getSeq(txn, ck)
	if err != nil {
		return e, false, err
	}
	switch op.Kind {
	case QueueDel, QueueFail:
		// The result's Seq is the queued entry removed (0: none): a page read in flight
		// may hold it (actors/tracker pagerace.go).
		var removed uint64
		if queued {
			removed = oldSeq
			if err := txn.Delete(seqKey(oldSeq)); err != nil {
				return e, false, err
			}
			if err := txn.Delete(ck); err != nil {
				return e, false, err
			}
			*length--
		}
		fk := queueKey(prefixQueueFailed, e.Cid.Bytes())
		// Most settled items never failed: a read (memtable and bloom filters) costs less
		// than a tombstone written, flushed and compacted for every pin, and no read at all
		// while nothing failed.
		had, err := hasFailed(txn, fk, *failed)
		if err != nil {
			return e, false, err
		}
		e.Seq = removed
		if op.Kind == QueueDel {
			if !had {
				return e, false, nil
			}
			*failed--
			return e, false, txn.Delete(fk)
		}
		if !had {
			*failed++
		}
		e.Seq, e.Failed = 0, true
		if err := txn.Set(fk, encodeQueueEntry(e)); err != nil {
			return e, false, err
		}
		e.Seq = removed
		return e, false, nil
	}
	fk := queueKey(prefixQueueFailed, e.Cid.Bytes())
	if op.Kind == QueueRequeueOne {
		prev, ok, err := getQueueEntryOpt(txn, fk)
		if err != nil || !ok || queued || prev.Unpin != e.Unpin {
			return QueueEntry{}, false, err
		}
		e = prev
		e.Seq = 0 // queued below as a put of the same operation, which keeps its attempts
	}
	// QueuePut.
	isFailed := false // a failed entry of the CID exists: delete it
	if e.Seq == 0 {
		if queued {
			old, err := getQueueEntry(txn, seqKey(oldSeq))
			if err != nil {
				return e, false, err
			}
			if old.Unpin == e.Unpin {
				return old, false, nil
			}
		}
		// A new pin, the common case, has no failed entry: no tombstone for it.
		if *failed > 0 {
			prev, ok, err := getQueueEntryOpt(txn, fk)
			if err != nil {
				return e, false, err
			}
			isFailed = ok
			if ok && !queued && prev.Unpin == e.Unpin {
				e.Attempts, e.Err, e.Priority = prev.Attempts, prev.Err, prev.Priority
			}
		}
		// Unpins are never refused: they are bounded by the pinset's records, and a refused
		// one may be lost for good once its tombstone is collected (actors/tracker Held).
		if !queued && max > 0 && *length >= int64(max) && !e.Unpin {
			return e, true, nil
		}
		*seq++
		e.Seq = *seq
	} else if had, err := hasFailed(txn, fk, *failed); err != nil {
		return e, false, err
	} else {
		isFailed = had
	}
	if queued && oldSeq != e.Seq {
		if err := txn.Delete(seqKey(oldSeq)); err != nil {
			return e, false, err
		}
	}
	if !queued {
		*length++
	}
	e.Failed = false
	if isFailed {
		*failed--
		if err := txn.Delete(fk); err != nil {
			return e, false, err
		}
	}
	if err := txn.Set(seqKey(e.Seq), encodeQueueEntry(e)); err != nil {
		return e, false, err
	}
	return e, false, txn.Set(ck, encU64(e.Seq))
}

// requeueFailed moves the failed set to the tail of the queue, a chunk per transaction.
func (s *Store) requeueFailed() (int, error) {
	moved := 0
	for {
		var batch []QueueEntry
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixQueueFailed, PrefetchValues: true, PrefetchSize: 64})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(batch) < queueChunk; it.Next() {
				var e QueueEntry
				if err := it.Item().Value(func(v []byte) (err error) { e, err = decodeQueueEntry(v); return err }); err != nil {
					return err
				}
				batch = append(batch, e)
			}
			return nil
		})
		if err != nil || len(batch) == 0 {
			return moved, err
		}
		txn := s.db.NewTransaction(true)
		c := s.queueCounters()
		for _, e := range batch {
			e.Seq = 0
			if _, _, err := applyQueueOp(txn, QueueOp{Kind: QueuePut, Entry: e}, &c, 0); err != nil {
				txn.Discard()
				return moved, err
			}
		}
		if err := s.commitQueue(txn, c); err != nil {
			return moved, err
		}
		moved += len(batch)
	}
}

// QueuePage returns up to limit queued CIDs after seq after, in queue order: entries, and batch
// entries with their CIDs' pin records (a batch counts its CIDs; the first entry is returned
// even when it alone is over limit).
func (s *Store) QueuePage(after uint64, limit int) ([]QueueEntry, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []QueueEntry
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixQueueSeq, PrefetchValues: true, PrefetchSize: min(limit, 256)})
		defer it.Close()
		n := 0
		for it.Seek(seqKey(after + 1)); it.Valid() && n < limit; it.Next() {
			var e QueueEntry
			if err := it.Item().Value(func(v []byte) (err error) { e, err = decodeQueueEntry(v); return err }); err != nil {
				return err
			}
			if e.Batch != nil {
				if n > 0 && n+len(e.Batch) > limit {
					break
				}
				if err := readBatchRecords(txn, e.Batch); err != nil {
					return err
				}
				n += len(e.Batch)
			} else {
				n++
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// QueueGet returns the CID's queued or failed entry.
func (s *Store) QueueGet(c api.Cid) (QueueEntry, bool, error) {
	if err := s.enter(); err != nil {
		return QueueEntry{}, false, err
	}
	defer s.leave()
	var e QueueEntry
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		seq, queued, err := getSeq(txn, queueKey(prefixQueueCid, c.Bytes()))
		if err != nil {
			return err
		}
		if queued {
			e, ok, err = getQueueEntryOpt(txn, seqKey(seq))
			return err
		}
		e, ok, err = getQueueEntryOpt(txn, queueKey(prefixQueueFailed, c.Bytes()))
		return err
	})
	return e, ok, err
}

// QueueLen is the number of queued CIDs (failed ones excluded), those of batch entries too.
func (s *Store) QueueLen() int { return int(s.queueLen.Load()) }

// IterateQueue calls fn for every queued entry in queue order (each CID of a batch entry as an
// entry of its own, with the batch's seq), then every failed entry, in one read transaction
// with constant memory.
func (s *Store) IterateQueue(ctx context.Context, fn func(QueueEntry) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.db.View(func(txn *badger.Txn) error {
		for _, prefix := range [][]byte{prefixQueueSeq, prefixQueueFailed} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
			for it.Rewind(); it.Valid(); it.Next() {
				if err := ctx.Err(); err != nil {
					it.Close()
					return err
				}
				var e QueueEntry
				err := it.Item().Value(func(v []byte) (err error) { e, err = decodeQueueEntry(v); return err })
				if err == nil {
					err = eachEntry(e, fn)
				}
				if err != nil {
					it.Close()
					return err
				}
			}
			it.Close()
		}
		return nil
	})
}

func queueKey(prefix, b []byte) []byte {
	k := make([]byte, 0, len(prefix)+len(b))
	return append(append(k, prefix...), b...)
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), prefixQueueSeq...), seq)
}

// hasFailed reports whether the failed entry fk exists, without a read while none does.
func hasFailed(txn *badger.Txn, fk []byte, failed int64) (bool, error) {
	if failed <= 0 {
		return false, nil
	}
	_, err := txn.Get(fk)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

func getSeq(txn *badger.Txn, key []byte) (uint64, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var seq uint64
	err = item.Value(func(v []byte) (err error) { seq, err = decU64(v); return err })
	return seq, err == nil, err
}

func getQueueEntry(txn *badger.Txn, key []byte) (QueueEntry, error) {
	e, ok, err := getQueueEntryOpt(txn, key)
	if err == nil && !ok {
		err = fmt.Errorf("persistence: tracker queue: entry %x missing", key)
	}
	return e, err
}

func getQueueEntryOpt(txn *badger.Txn, key []byte) (QueueEntry, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return QueueEntry{}, false, nil
	}
	if err != nil {
		return QueueEntry{}, false, err
	}
	var e QueueEntry
	err = item.Value(func(v []byte) (err error) { e, err = decodeQueueEntry(v); return err })
	return e, err == nil, err
}
