package persistence

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// The writing side of the op log (its entry forms: oplog.go): a transaction's logWriter
// gathers winning pins into runs and splits the runs whose pins are replaced.

// logWriter writes a transaction's op log entries, gathering consecutive winning pins of one
// origin into runs. Entries of ops it holds are not in the transaction until flush.
type logWriter struct {
	txn    *badger.Txn
	origin peer.ID
	first  uint64 // the pending run's seqs: first..last, n of them
	last   uint64
	n      int
	body   []byte // the pending run's items
	// recent is, per origin, the seqs of the last run written in this transaction: finding
	// the run of a seq in it is a Get of its key, not an iterator (which, in a write
	// transaction, sorts the pending writes: replacing a run's pins one by one paid that for
	// every pin).
	recent map[peer.ID]span
	// splits is, per origin, the run whose pins are being replaced in this transaction: it is
	// rewritten once, by finish, not once per replaced pin (an unpin of an ingested list
	// replaces a run's pins one after the other, and rewrote the rest of the run each time).
	// Until then the run's entry stays as it was; it still covers the same seqs, which is all
	// that is read of it in the transaction (logged, fillForward).
	splits map[peer.ID]*runSplit
	// floors is, per origin, its log's trim mark as read in this transaction (trimFloor).
	floors map[peer.ID]uint64
}

// runSplit is a run some of whose pins were replaced: items, and the full entry of each
// replaced one (nil: still a stub).
type runSplit struct {
	first uint64
	items []runItem
	full  [][]byte
}

func newLogWriter(txn *badger.Txn) *logWriter {
	return &logWriter{txn: txn, recent: map[peer.ID]span{}, splits: map[peer.ID]*runSplit{}, floors: map[peer.ID]uint64{}}
}

// trimFloor is origin's trim mark: its log entries up to it are gone (or about to be).
func (w *logWriter) trimFloor(origin peer.ID) (uint64, error) {
	if f, ok := w.floors[origin]; ok {
		return f, nil
	}
	f, err := getU64(w.txn, originKey(prefixTrimmed, origin))
	if err == nil {
		w.floors[origin] = f
	}
	return f, err
}

// add logs op; won says it is now its CID's record.
func (w *logWriter) add(op crdt.Op, won bool) error {
	if !won || op.Kind != crdt.OpPin || !op.After.IsZero() { // stubs carry no rank: a conditional op is logged whole
		if err := w.flush(); err != nil {
			return err
		}
		return w.txn.Set(opKey(op.Origin, op.Seq), op.Marshal())
	}
	if w.n > 0 && (op.Origin != w.origin || op.Seq != w.last+1 || len(w.body) >= runMaxBytes) {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if w.n == 0 {
		w.origin, w.first = op.Origin, op.Seq
	}
	w.last = op.Seq
	w.n++
	w.body = appendRunItem(w.body, uint64(op.Clock), op.Cid.KeyString()) // Bytes would copy it
	return nil
}

// holds reports whether seq of origin is in the pending run.
func (w *logWriter) holds(origin peer.ID, seq uint64) bool {
	return w.n > 0 && origin == w.origin && seq >= w.first && seq <= w.last
}

// flush writes the pending run (a stub when it has one op).
func (w *logWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	v := encodeRun(w.n, w.body)
	if w.n > 1 {
		w.recent[w.origin] = span{w.first, w.last}
	}
	w.n, w.body = 0, w.body[:0]
	return w.txn.Set(opKey(w.origin, w.last), v)
}

// finish writes what the transaction still holds back: the pending run and the runs being
// split. The transaction must not commit before it.
func (w *logWriter) finish() error {
	if err := w.flush(); err != nil {
		return err
	}
	for origin := range w.splits {
		if err := w.finishSplit(origin); err != nil {
			return err
		}
	}
	return nil
}

// finishSplit writes origin's run being split: its replaced pins as full entries, the rest
// as the runs (or stubs) between them, each keyed by its last seq.
func (w *logWriter) finishSplit(origin peer.ID) error {
	sp := w.splits[origin]
	if sp == nil {
		return nil
	}
	delete(w.splits, origin)
	from := 0 // the first item of the stretch of stubs not written yet
	for i, full := range sp.full {
		if full == nil {
			continue
		}
		if from < i {
			if err := w.setRun(origin, sp.items[from:i]); err != nil {
				return err
			}
		}
		if err := w.txn.Set(opKey(origin, sp.first+uint64(i)), full); err != nil {
			return err
		}
		from = i + 1
	}
	if from < len(sp.items) {
		return w.setRun(origin, sp.items[from:])
	}
	return nil
}

// hint is the span of the last run written for origin (empty when none).
func (w *logWriter) hint(origin peer.ID) span {
	if w == nil {
		return span{1, 0}
	}
	if s, ok := w.recent[origin]; ok {
		return s
	}
	return span{1, 0}
}

// unstub turns the log entry of replaced (a live record about to be replaced) into a full
// entry if it is a stub, splitting its run if it is in one, so the log keeps the op's content
// once the record is gone. An entry trimmed from the log (seq at or below the trim mark, even
// inside a run that straddles it: OpsFrom never reads below the mark) or never logged (a
// snapshot record) is left alone; a run that straddles the floor is split for its seqs above
// it, and the next trim deletes what of it lies at or below the floor. The pending run is
// written first; the entry itself is rewritten by finish, once for all the pins of its run
// replaced in the transaction.
func (w *logWriter) unstub(replaced crdt.Op) error {
	origin, seq := replaced.Origin, replaced.Seq
	if err := w.flush(); err != nil {
		return err
	}
	if sp := w.splits[origin]; sp != nil && seq >= sp.first && seq-sp.first < uint64(len(sp.items)) {
		return sp.replace(seq-sp.first, replaced)
	}
	if err := w.finishSplit(origin); err != nil { // txn holds it before findEntry
		return err
	}
	// A trimmed entry is not looked for: findEntry's search would step over every deleted
	// key of the trimmed range until compaction drops them, once per replaced pin (an unpin
	// of a bulk list after a collection ran at 400 ops/s, holding the pinset's only writer).
	if floor, err := w.trimFloor(origin); err != nil || seq <= floor {
		return err
	}
	first, last, v, found, err := findEntry(w.txn, origin, seq, w.hint(origin))
	if err != nil || !found {
		return err
	}
	items, stub, err := stubItems(last, v)
	if err != nil || !stub {
		return err
	}
	sp := &runSplit{first: first, items: items, full: make([][]byte, len(items))}
	if err := sp.replace(seq-first, replaced); err != nil {
		return err
	}
	w.splits[origin] = sp
	return nil
}

// replace records that item i, replaced's stub, becomes a full entry (once).
func (sp *runSplit) replace(i uint64, replaced crdt.Op) error {
	if sp.full[i] != nil {
		return nil
	}
	if string(sp.items[i].cid) != replaced.Cid.KeyString() {
		return fmt.Errorf("%w: op log entry of seq %d of %s is for another CID", crdt.ErrBadOp, replaced.Seq, replaced.Origin)
	}
	sp.full[i] = replaced.Marshal()
	return nil
}

// setRun stores items (consecutive seqs) as one entry keyed by the last one's seq, and notes
// the run in recent.
func (w *logWriter) setRun(origin peer.ID, items []runItem) error {
	var body []byte
	for _, it := range items {
		body = appendRunItem(body, it.clock, it.cid)
	}
	first, last := items[0].seq, items[len(items)-1].seq
	if len(items) > 1 {
		w.recent[origin] = span{first, last}
	}
	return w.txn.Set(opKey(origin, last), encodeRun(len(items), body))
}
