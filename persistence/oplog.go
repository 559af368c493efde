package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// Op log entries (o/<origin>/<seq>) come in three forms:
//
//   - full: the op's wire form (crdt.Op.Marshal), for unpins and for pins that did not win;
//   - stub: stubMark | clock (8, BE) | cid bytes, for a pin that is its CID's record: the pin
//     JSON is the record's, so it is not stored twice. A pin's JSON is most of the bytes a pin
//     costs, and writing it once instead of twice is a third less for Badger to log, flush and
//     compact on every ingest;
//   - run: runMark | uvarint n | n x (clock (8, BE) | uvarint len | cid bytes), the stubs of n
//     consecutive seqs of one origin in one entry, keyed by the run's last seq (so the
//     entry covering a seq is the first at or after its key, and trimming up to a seq deletes
//     whole entries). A batch ingest's pins come in runs of thousands; a stub per pin was half
//     of Badger's entries, and skipping them cut a 3-peer ingest's CPU by a quarter.
//
// The invariant: a stub's (or a run's) op is its CID's record. Whatever replaces a live record
// first rewrites the replaced op's stub as a full entry, splitting its run (mergeRecord, for
// ops and snapshot records alike). Records removed without a replacement (a snapshot's prune,
// a removed peer's ops past its cutoff) leave stubs that cannot be resolved: OpsFrom answers
// ErrTrimmed for them, as for a trimmed log, and the syncer sends a snapshot instead.
//
// Store format 2 introduced stubs and format 3 runs; format 1 and 2 stores (no runs) are read
// as they are.
const (
	stubMark = 0xff // never the first byte of an Op's wire form (wire type 7)
	runMark  = 0xfe // nor this (wire type 6)
	// runMaxBytes bounds a run's value (about 180 pins): far under Badger's value threshold
	// (store.go), so runs stay in the LSM tree, and small enough that replacing the pins of a
	// run one by one in separate transactions, which rewrites the rest of the run each time,
	// stays cheap (within one transaction a run is rewritten once: logWriter.splits). Entries
	// per pin are what cost; 1/180 of one is as good as none.
	runMaxBytes = 8 << 10
	// runItemMin is the smallest run item: clock, length, a CID of two bytes.
	runItemMin = 8 + 1 + 2
)

func appendRunItem[C string | []byte](b []byte, clock uint64, cid C) []byte {
	b = binary.BigEndian.AppendUint64(b, clock)
	b = binary.AppendUvarint(b, uint64(len(cid)))
	return append(b, cid...)
}

// encodeRun is the entry of n items (appendRunItem): a stub for one, a run otherwise. The
// result does not alias body.
func encodeRun(n int, body []byte) []byte {
	if n == 1 {
		clock := body[:8]
		_, k := binary.Uvarint(body[8:])
		v := make([]byte, 0, 1+len(body))
		return append(append(append(v, stubMark), clock...), body[8+k:]...)
	}
	v := make([]byte, 0, 1+binary.MaxVarintLen64+len(body))
	v = binary.AppendUvarint(append(v, runMark), uint64(n))
	return append(v, body...)
}

// runItem is one op of a stub or run: its seq, clock and CID bytes (aliasing the entry).
type runItem struct {
	seq   uint64
	clock uint64
	cid   []byte
}

// entryFirst is the first seq of the entry stored under last's key.
func entryFirst(last uint64, v []byte) (uint64, error) {
	if len(v) == 0 || v[0] != runMark {
		return last, nil
	}
	n, k := binary.Uvarint(v[1:])
	if k <= 0 || n < 2 || n > last || n > uint64(len(v)-1-k)/runItemMin {
		return 0, fmt.Errorf("%w: op log run of %d ops ending at %d in %d bytes", crdt.ErrBadOp, n, last, len(v))
	}
	return last - n + 1, nil
}

// itemSeqs is the first and last seq of the op log entry item (of an origin's prefix).
func itemSeqs(item *badger.Item, prefix []byte) (first, last uint64, err error) {
	key := item.Key()
	if len(key) != len(prefix)+8 {
		return 0, 0, fmt.Errorf("persistence: corrupt op log key %x", key)
	}
	last = binary.BigEndian.Uint64(key[len(prefix):])
	err = item.Value(func(v []byte) error {
		first, err = entryFirst(last, v)
		return err
	})
	return first, last, err
}

// stubItems decodes a stub or run entry keyed by last into its items; ok is false for a
// full entry.
func stubItems(last uint64, v []byte) (items []runItem, ok bool, err error) {
	switch {
	case len(v) > 0 && v[0] == stubMark:
		if len(v) < 1+8+2 {
			return nil, true, fmt.Errorf("%w: op log stub of %d bytes", crdt.ErrBadOp, len(v))
		}
		return []runItem{{seq: last, clock: binary.BigEndian.Uint64(v[1:9]), cid: v[9:]}}, true, nil
	case len(v) > 0 && v[0] == runMark:
		first, err := entryFirst(last, v)
		if err != nil {
			return nil, true, err
		}
		n, k := binary.Uvarint(v[1:])
		b := v[1+k:]
		items = make([]runItem, 0, n)
		for seq := first; seq <= last; seq++ {
			if len(b) < 9 {
				return nil, true, fmt.Errorf("%w: op log run truncated at seq %d", crdt.ErrBadOp, seq)
			}
			clock := binary.BigEndian.Uint64(b)
			l, k := binary.Uvarint(b[8:])
			if k <= 0 || l < 2 || uint64(len(b)-8-k) < l {
				return nil, true, fmt.Errorf("%w: op log run item at seq %d", crdt.ErrBadOp, seq)
			}
			items = append(items, runItem{seq: seq, clock: clock, cid: b[8+k : 8+k+int(l)]})
			b = b[8+k+int(l):]
		}
		if len(b) != 0 {
			return nil, true, fmt.Errorf("%w: %d bytes after an op log run", crdt.ErrBadOp, len(b))
		}
		return items, true, nil
	}
	return nil, false, nil
}

// findEntry finds origin's log entry covering seq in txn: its key's seq (last), first seq and
// value (a copy). When none covers seq, found is false and first, last and v are those of the
// next entry (first > seq), or zero when there is none. hint is a run that may cover seq.
func findEntry(txn *badger.Txn, origin peer.ID, seq uint64, hint span) (first, last uint64, v []byte, found bool, err error) {
	if hint.has(seq) {
		if item, err := txn.Get(opKey(origin, hint.to)); err == nil {
			if v, err = item.ValueCopy(nil); err != nil {
				return 0, 0, nil, false, err
			}
			if first, err = entryFirst(hint.to, v); err != nil {
				return 0, 0, nil, false, err
			}
			if first <= seq {
				return first, hint.to, v, true, nil
			}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return 0, 0, nil, false, err
		}
	}
	key := opKey(origin, seq)
	item, err := txn.Get(key) // a single entry, or a run ending at seq: most lookups
	if err == nil {
		v, err = item.ValueCopy(nil)
		if err != nil {
			return 0, 0, nil, false, err
		}
		first, err = entryFirst(seq, v)
		return first, seq, v, err == nil, err
	}
	if !errors.Is(err, badger.ErrKeyNotFound) {
		return 0, 0, nil, false, err
	}
	prefix := opPrefix(origin)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Seek(key)
	if !it.Valid() {
		return 0, 0, nil, false, nil
	}
	k := it.Item().Key()
	if len(k) != len(prefix)+8 {
		return 0, 0, nil, false, fmt.Errorf("persistence: corrupt op log key %x", k)
	}
	last = binary.BigEndian.Uint64(k[len(prefix):])
	if v, err = it.Item().ValueCopy(nil); err != nil {
		return 0, 0, nil, false, err
	}
	if first, err = entryFirst(last, v); err != nil {
		return 0, 0, nil, false, err
	}
	return first, last, v, first <= seq, nil
}

// span is an inclusive range of seqs; empty when to < from.
type span struct{ from, to uint64 }

func (s span) has(seq uint64) bool { return s.from <= seq && seq <= s.to }

// logged reports whether seq of st's origin is in the log (in txn, or pending in w). It keeps
// what it learns in st (an entry's seqs, or a range with none), so that a stream of ops in seq
// order costs a lookup per entry, not per op: pulled ops filling a gap below ops already held,
// thousands to a run, each cost an iterator otherwise (twice a replica's CPU in a batch ingest).
func (st *originState) logged(txn *badger.Txn, w *logWriter, origin peer.ID, seq uint64) (bool, error) {
	switch {
	case w != nil && w.holds(origin, seq), st.seen.has(seq):
		return true, nil
	case st.unseen.has(seq):
		return false, nil
	}
	if w != nil && w.n > 0 && w.origin == origin {
		// txn must hold every op logged so far, or what is learned of it (unseen) is wrong.
		if err := w.flush(); err != nil {
			return false, err
		}
	}
	first, last, _, found, err := findEntry(txn, origin, seq, w.hint(origin))
	switch {
	case err != nil:
		return false, err
	case found:
		st.seen = span{first, last}
	case first > seq:
		st.unseen = span{seq, first - 1}
	default:
		st.unseen = span{seq, ^uint64(0)}
	}
	return found, nil
}

// logging notes that seq of st's origin is being logged: no longer in st.unseen.
func (st *originState) logging(seq uint64) {
	if !st.unseen.has(seq) {
		return
	}
	if seq == st.unseen.from {
		st.unseen.from++
	} else {
		st.unseen.to = seq - 1
	}
}

// decodeLogEntries calls fn with each op of origin's entry keyed by last whose seq is from or
// more, reading a stub's JSON from its CID's record in txn. It returns fn's errors as they are,
// ErrTrimmed for a stub whose record is gone, and a corrupt entry's error naming it.
func decodeLogEntries(txn *badger.Txn, origin peer.ID, last, from uint64, v []byte, fn func(crdt.Op) error) error {
	corrupt := func(err error) error {
		return fmt.Errorf("persistence: corrupt op log entry %d of %s: %w", last, origin, err)
	}
	items, stub, err := stubItems(last, v)
	if err != nil {
		return corrupt(err)
	}
	if !stub {
		op, err := crdt.UnmarshalOp(v)
		if err != nil {
			return corrupt(err)
		}
		return fn(op)
	}
	for _, it := range items {
		if it.seq < from {
			continue
		}
		op, err := resolveStub(txn, origin, it)
		if errors.Is(err, crdt.ErrBadOp) {
			return corrupt(err)
		}
		if err != nil {
			return err
		}
		if err := fn(op); err != nil {
			return err
		}
	}
	return nil
}

// resolveStub is the op of a stub item, whose JSON is its CID's record's.
func resolveStub(txn *badger.Txn, origin peer.ID, it runItem) (crdt.Op, error) {
	c, err := api.CastCid(it.cid)
	if err != nil {
		return crdt.Op{}, fmt.Errorf("%w: op log stub: %v", crdt.ErrBadOp, err)
	}
	op := crdt.Op{Origin: origin, Seq: it.seq, Clock: crdt.HLC(it.clock), Kind: crdt.OpPin, Cid: c}
	rec, found, err := getRecord(txn, c)
	if err != nil {
		return crdt.Op{}, err
	}
	if !found || rec.Deleted || rec.Op.Origin != origin || rec.Op.Seq != it.seq {
		return crdt.Op{}, fmt.Errorf("%w (the record of %s, op %d of %s, was removed)", ErrTrimmed, c, it.seq, origin)
	}
	op.PinJSON = rec.Op.PinJSON
	return op, nil
}
