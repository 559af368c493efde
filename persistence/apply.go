package persistence

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// applyChunk is the number of ops per Badger transaction; halved when a transaction is too big.
const applyChunk = 1024

// Apply records ops durably and merges them into the pinset under last-writer-wins
// (crdt.Op.Newer). For each op:
//   - it is appended to its origin's op log unless already there (a duplicate is skipped
//     entirely: not logged twice, not applied twice);
//   - the origin's version vector entry (highest seq contiguous from 1) advances; ops after a
//     gap are stored and applied at once, and counted in the vector when the gap fills;
//   - the CID's record is replaced when the op wins over it (an unpin leaves a tombstone).
//
// changed[i] says whether ops[i] won and is now its CID's record (for an unpin: the CID
// became or stayed absent by this op), and whether the CID had no record before it
// (crdt.Created). Everything is committed (fsynced with SyncWrites)
// before Apply returns. Ops are committed in chunks of whole ops (each op's log entry, record,
// version vector and counters move together); on error, changed holds the flags of the chunks
// committed before it, and applying the same ops again is harmless. Invalid ops (no origin,
// seq 0, undefined CID, unknown kind, pin without JSON) fail the whole call before anything is
// written, with an api.ErrInvalid-wrapped error.
func (s *Store) Apply(ops []crdt.Op) (changed []crdt.Effect, err error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	for i, op := range ops {
		if err := checkOp(op); err != nil {
			return nil, fmt.Errorf("persistence: op %d: %w", i, err)
		}
	}
	return s.inChunks(ops, "apply ops", s.applyChunk)
}

// inChunks writes ops in transactions of up to applyChunk ops (halving the chunk when Badger
// says a transaction is too big), under the write lock. On error, changed holds the flags of
// the chunks committed before it.
func (s *Store) inChunks(ops []crdt.Op, what string, write func(ops []crdt.Op, changed []crdt.Effect) error) ([]crdt.Effect, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	changed := make([]crdt.Effect, len(ops))
	if err := s.checkWrite(); err != nil {
		return changed, fmt.Errorf("persistence: %s: %w", what, err)
	}
	defer s.reportRaced()
	chunk := applyChunk
	for i := 0; i < len(ops); {
		n := min(chunk, len(ops)-i)
		err := write(ops[i:i+n], changed[i:i+n])
		if errors.Is(err, badger.ErrTxnTooBig) && n > 1 {
			chunk = n / 2
			continue
		}
		if err != nil {
			clear(changed[i:])
			return changed, fmt.Errorf("persistence: %s: %w", what, err)
		}
		i += n
	}
	return changed, nil
}

func checkOp(op crdt.Op) error {
	switch {
	case op.Origin == "" || len(op.Origin) > 255:
		return fmt.Errorf("%w: op has no valid origin", api.ErrInvalid)
	case op.Seq == 0:
		return fmt.Errorf("%w: op seq must be >= 1", api.ErrInvalid)
	case !op.Cid.Defined():
		return fmt.Errorf("%w: op has no CID", api.ErrInvalid)
	case op.Kind == crdt.OpPin && len(op.PinJSON) == 0:
		return fmt.Errorf("%w: pin op of %s has no pin JSON", api.ErrInvalid, op.Cid)
	case op.Kind != crdt.OpPin && op.Kind != crdt.OpUnpin:
		return fmt.Errorf("%w: op of %s has unknown kind %d", api.ErrInvalid, op.Cid, op.Kind)
	}
	return nil
}

// originState is an origin's log bookkeeping inside one transaction.
type originState struct {
	contig uint64 // v/: highest seq contiguous from 1
	last   uint64 // l/: highest seq stored
	dirty  bool
	seen   span // seqs known to be in the log, and known not to be (logged)
	unseen span
}

func (s *Store) applyChunk(ops []crdt.Op, changed []crdt.Effect) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	var raced []crdt.Op
	count := s.pinCount.Load()
	maxClock := s.maxClock.Load()
	origins := map[peer.ID]*originState{}
	log := newLogWriter(txn)
	for j, op := range ops {
		st, err := s.loadOrigin(txn, origins, op.Origin)
		if err != nil {
			return err
		}
		dup, err := st.isDuplicate(txn, log, op)
		if err != nil {
			return err
		}
		if dup {
			continue
		}
		st.dirty = true
		if op.Seq > st.last {
			st.last = op.Seq
		}
		if op.Seq == st.contig+1 {
			st.contig++
			// Ops held above a gap: walk over them once the next is in the log. Asking first
			// (cached in st) spares an iterator per op while a pull fills the gap: a Badger
			// iterator in a write transaction sorts its pending writes, and that was half a
			// replica's CPU when an ingest's first gossip batches had to be pulled.
			next := false
			if st.contig < st.last {
				if next, err = st.logged(txn, log, op.Origin, st.contig+1); err != nil {
					return err
				}
			}
			if next {
				if err := log.flush(); err != nil { // fillForward reads txn
					return err
				}
				if err := fillForward(txn, op.Origin, st); err != nil {
					return err
				}
			}
		}
		if uint64(op.Clock) > maxClock {
			maxClock = uint64(op.Clock)
		}
		eff, delta, absent, err := s.mergeRecord(txn, log, op)
		if err != nil {
			return err
		}
		won := eff.Won()
		if err := log.add(op, won); err != nil {
			return err
		}
		st.logging(op.Seq)
		changed[j] = eff
		count += delta
		if won && absent && s.racesCollection(op) {
			if err := markRaced(txn, op); err != nil {
				return err
			}
			raced = append(raced, op)
		}
	}
	if err := log.finish(); err != nil {
		return err
	}
	for origin, st := range origins {
		if !st.dirty {
			continue
		}
		if err := txn.Set(originKey(prefixVV, origin), encU64(st.contig)); err != nil {
			return err
		}
		if err := txn.Set(originKey(prefixLast, origin), encU64(st.last)); err != nil {
			return err
		}
	}
	if err := txn.Set(keyPinCount, encU64(uint64(count))); err != nil {
		return err
	}
	if err := txn.Set(keyMaxClock, encU64(maxClock)); err != nil {
		return err
	}
	if err := s.commit(txn.Commit); err != nil {
		clear(s.origins) // whatever the failed commit left on disk is read again
		return err
	}
	s.rememberOrigins(origins)
	s.raced = append(s.raced, raced...)
	s.pinCount.Store(count)
	s.maxClock.Store(maxClock)
	return nil
}

// originCounters are an origin's v/ and l/ as committed. The store keeps those of the origins
// it has read or written (Store.origins, under writeMu: every writer of v/ and l/ holds it), so
// a group commit does not read them back: two Badger gets per commit, each through every
// level-0 table, were 4% of a daemon's CPU under single POSTs with 16 clients.
type originCounters struct{ contig, last uint64 }

// rememberOrigins keeps the counters of a committed transaction's origins. Called under
// writeMu, after the commit: a transaction that failed leaves the kept counters as they were.
func (s *Store) rememberOrigins(origins map[peer.ID]*originState) {
	for origin, st := range origins {
		s.origins[origin] = originCounters{contig: st.contig, last: st.last}
	}
}

// fillForward advances st.contig over the ops stored right above it (ops that arrived after
// a gap), reading their entries with one iterator (a run's value says where it starts). After
// a pull fills a gap, the ops above it can number in the hundreds of thousands (a replica that
// missed a batch ingest's first gossip batch): a Get per seq, as before, was 10% of a
// replica's CPU during a 200k-pin ingest. The txn's own pending writes are seen.
func fillForward(txn *badger.Txn, origin peer.ID, st *originState) error {
	if st.contig >= st.last {
		return nil
	}
	prefix := opPrefix(origin)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(opKey(origin, st.contig+1)); it.Valid() && st.contig < st.last; it.Next() {
		first, last, err := itemSeqs(it.Item(), prefix)
		if err != nil {
			return err
		}
		if first > st.contig+1 {
			break
		}
		st.contig = max(st.contig, last)
	}
	return nil
}

func (s *Store) loadOrigin(txn *badger.Txn, cache map[peer.ID]*originState, origin peer.ID) (*originState, error) {
	if st, ok := cache[origin]; ok {
		return st, nil
	}
	if c, ok := s.origins[origin]; ok {
		st := &originState{contig: c.contig, last: c.last}
		cache[origin] = st
		return st, nil
	}
	contig, err := getU64(txn, originKey(prefixVV, origin))
	if err != nil {
		return nil, err
	}
	last, err := getU64(txn, originKey(prefixLast, origin))
	if err != nil {
		return nil, err
	}
	st := &originState{contig: contig, last: max(last, contig)}
	cache[origin] = st
	return st, nil
}

// isDuplicate: seqs up to contig are all stored (or trimmed, which is only done below contig);
// seqs above last are new; in between, the log (with w's pending run; nil: none) says.
func (st *originState) isDuplicate(txn *badger.Txn, w *logWriter, op crdt.Op) (bool, error) {
	if op.Seq <= st.contig {
		return true, nil
	}
	if op.Seq > st.last {
		return false, nil
	}
	return st.logged(txn, w, op.Origin, op.Seq)
}

// mergeRecord replaces the CID's record when op wins, and says how (crdt.Effect). delta is the
// change in live pins; absent says the CID had no record. A key the filter never saw is not
// read (keyfilter.go). w is the transaction's log writer: a replaced op's stub becomes a full
// entry through it (unstub).
func (s *Store) mergeRecord(txn *badger.Txn, w *logWriter, op crdt.Op) (eff crdt.Effect, delta int64, absent bool, err error) {
	key := pinKey(op.Cid)
	h := s.pinKeys.hash(key)
	var item *badger.Item
	err = badger.ErrKeyNotFound
	if s.pinKeys.mayHaveHash(h) {
		item, err = txn.Get(key)
	}
	wasLive, unheld := false, false // unheld: a winning tombstone is (tombstones.go)
	var oldIdx [][]byte             // index keys of the record replaced
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		absent = true
		s.pinKeys.addHash(h) // before the commit that stores it, also while the filter loads
	case err != nil:
		return crdt.Kept, 0, absent, err
	default:
		var cur recordHeader
		var replaced crdt.Op // the live op this one replaces (its log entry may be a stub)
		err := item.Value(func(v []byte) error {
			var err error
			if cur, err = decodeRecord(v); err == nil && cur.kind == kindLive && wins(op, cur) {
				oldIdx = indexKeys(key[len(prefixPin):], cur.pinJSON) // cur aliases v
				replaced = cur.toOp(op.Cid)                           // copies
			}
			return err
		})
		if err != nil {
			return crdt.Kept, 0, absent, fmt.Errorf("record of %s: %w", op.Cid, err)
		}
		if !wins(op, cur) {
			return crdt.Kept, 0, absent, nil
		}
		wasLive = cur.kind == kindLive
		if wasLive {
			if err := w.unstub(replaced); err != nil {
				return crdt.Kept, 0, absent, err
			}
		} else if op.Kind != crdt.OpPin {
			// A tombstone over a tombstone is as unheld as the one it replaces.
			if unheld, err = tombUnheld(txn, key[len(prefixPin):]); err != nil {
				return crdt.Kept, 0, absent, err
			}
		}
	}
	isLive := op.Kind == crdt.OpPin
	unheld = unheld || absent && !isLive
	if err := txn.Set(key, encodeRecord(op)); err != nil {
		return crdt.Kept, 0, absent, err
	}
	if err := updateTombIdx(txn, key[len(prefixPin):], !absent && !wasLive, !isLive, unheld); err != nil {
		return crdt.Kept, 0, absent, err
	}
	var newIdx [][]byte
	if isLive {
		newIdx = indexKeys(key[len(prefixPin):], op.PinJSON)
	}
	if err := updateIndexes(txn, oldIdx, newIdx); err != nil {
		return crdt.Kept, 0, absent, err
	}
	switch {
	case isLive && !wasLive:
		delta = 1
	case !isLive && wasLive:
		delta = -1
	}
	return effectOf(true, absent, unheld), delta, absent, nil
}

// effectOf is a merge's effect: whether the op won, as an unheld tombstone, or over no record
// at all.
func effectOf(won, absent, unheld bool) crdt.Effect {
	switch {
	case won && unheld:
		return crdt.Unheld
	case won && absent:
		return crdt.Created
	case won:
		return crdt.Replaced
	}
	return crdt.Kept
}

// wins is crdt.Op.Newer, plus a tie-break on seq for two ops of one origin with the same
// rank (which a correct origin issues only as two repins of one record, in the order of
// its seqs) so that replicas converge even then.
func wins(op crdt.Op, cur recordHeader) bool {
	if op.Rank() == cur.rank() && string(op.Origin) == string(cur.origin) {
		return op.Seq > cur.seq
	}
	return op.Newer(crdt.Op{Clock: cur.clock, After: cur.after, Origin: peer.ID(cur.origin)})
}
