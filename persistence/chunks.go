package persistence

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// Chunked writes (Apply, ApplySnapshot) are pipelined: chunk k+1 is built while Badger writes
// chunk k. Badger has one writer goroutine, and a transaction opened while another commit is
// in flight waits for it (its read timestamp must cover every commit before it), so written
// one after the other each chunk waited for the previous write and the write for the next
// build: a batch ingest spent about 60% of its pinset commits waiting on Badger. Now the
// transaction of chunk k+1 is opened before chunk k is sent (it reads what was committed up
// to k-1), and what k+1 needs from k is known without reading it:
//   - the origins' log state and the counters are carried in memory across the chunks of one
//     call (chunkState), which holds the write lock;
//   - an op key that k wrote counts as present (chunkState.flightOps);
//   - a record that k wrote cannot be read yet: the build stops with errAfterFlight, waits
//     for k and starts again on a fresh transaction (rare: a CID twice in one call).
//
// Each chunk is still one transaction of whole ops, and chunk k+1 is sent only once k is
// written: on an error, the chunks before it are committed and none after it is. This relies
// on the store running without Badger's conflict detection (store.go): chunk k+1 may read a
// key that k rewrites (an op entry k un-stubs), which gives the right answer here but would
// fail k+1's commit as a conflict.

// errAfterFlight stops a chunk's build that must read a record the chunk in flight writes.
var errAfterFlight = errors.New("persistence: reads the chunk in flight")

// afterFlightWaits counts the builds started again after errAfterFlight (tests).
var afterFlightWaits atomic.Int64

// chunkBuild puts one chunk's writes into txn (no commit) and sets changed.
type chunkBuild func(txn *badger.Txn, st *chunkState, ops []crdt.Op, changed []bool) error

// chunkState is what the chunks of one call share: origin log states, the live pin count and
// greatest clock after the chunks built so far, and the keys of the chunk in flight.
type chunkState struct {
	origins  map[peer.ID]*originState
	count    int64
	maxClock uint64
	raced    []crdt.Op // of the chunk being built
	// Keys the chunk being built writes (pin records, op log entries), and those of the
	// chunk in flight.
	pins, ops             map[string]struct{}
	flightPins, flightOps map[string]struct{}
}

// chunkMark is a chunkState to return to when a build is abandoned.
type chunkMark struct {
	origins  map[peer.ID]originState
	count    int64
	maxClock uint64
}

func (st *chunkState) mark() chunkMark {
	m := chunkMark{origins: make(map[peer.ID]originState, len(st.origins)), count: st.count, maxClock: st.maxClock}
	for o, v := range st.origins {
		m.origins[o] = *v
	}
	return m
}

func (st *chunkState) reset(m chunkMark) {
	clear(st.origins)
	for o, v := range m.origins {
		v := v
		st.origins[o] = &v
	}
	st.count, st.maxClock, st.raced = m.count, m.maxClock, nil
	st.pins, st.ops = map[string]struct{}{}, map[string]struct{}{}
}

// readRecord is txn.Get of a pin record, unless the chunk in flight writes it.
func (st *chunkState) readRecord(txn *badger.Txn, key []byte) (*badger.Item, error) {
	if _, ok := st.flightPins[string(key)]; ok {
		return nil, errAfterFlight
	}
	return txn.Get(key)
}

// opExists reports whether the op log entry key is stored, or written by the chunk in flight.
func (st *chunkState) opExists(txn *badger.Txn, key []byte) (bool, error) {
	if _, ok := st.flightOps[string(key)]; ok {
		return true, nil
	}
	return exists(txn, key)
}

// wrote records the keys the chunk being built writes.
func (st *chunkState) wrotePin(key []byte) { st.pins[string(key)] = struct{}{} }
func (st *chunkState) wroteOp(key []byte)  { st.ops[string(key)] = struct{}{} }

// flight is a chunk sent to Badger: its result arrives on done.
type flight struct {
	from, n  int // its ops in the call
	count    int64
	maxClock uint64
	raced    []crdt.Op
	done     chan error
}

// send commits txn without waiting: Badger writes it while the next chunk is built.
func (s *Store) send(txn *badger.Txn, st *chunkState, from, n int) *flight {
	f := &flight{from: from, n: n, count: st.count, maxClock: st.maxClock, raced: st.raced, done: make(chan error, 1)}
	txn.CommitWith(func(err error) { f.done <- s.writeError(err) })
	return f
}

// land waits for f's write and publishes its counters; nil f is nothing to wait for.
func (s *Store) land(f *flight) error {
	if f == nil {
		return nil
	}
	if err := <-f.done; err != nil {
		return err
	}
	s.raced = append(s.raced, f.raced...)
	s.pinCount.Store(f.count)
	s.maxClock.Store(f.maxClock)
	return nil
}

// inChunks writes ops in transactions of up to applyChunk ops (halving the chunk when Badger
// says a transaction is too big), under the write lock, pipelined as described above. On
// error, changed holds the flags of the chunks committed before it.
func (s *Store) inChunks(ops []crdt.Op, what string, build chunkBuild) ([]bool, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	changed := make([]bool, len(ops))
	if err := s.checkWrite(); err != nil {
		return changed, fmt.Errorf("persistence: %s: %w", what, err)
	}
	defer s.reportRaced()
	st := &chunkState{origins: map[peer.ID]*originState{}, count: s.pinCount.Load(), maxClock: s.maxClock.Load()}
	var fl *flight
	fail := func(err error, from int) ([]bool, error) {
		clear(changed[from:])
		return changed, fmt.Errorf("persistence: %s: %w", what, err)
	}
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }() // the transaction not sent, if any
	chunk := applyChunk
	for i := 0; i < len(ops); {
		n := min(chunk, len(ops)-i)
		for _, o := range st.origins {
			o.dirty = false
		}
		m := st.mark()
		st.pins, st.ops, st.raced = map[string]struct{}{}, map[string]struct{}{}, nil
		err := build(txn, st, ops[i:i+n], changed[i:i+n])
		if err != nil {
			st.reset(m)
			clear(changed[i : i+n])
			txn.Discard()
			if lerr := s.land(fl); lerr != nil {
				return fail(lerr, fl.from)
			}
			fl, st.flightPins, st.flightOps = nil, nil, nil
			txn = s.db.NewTransaction(true) // after the flight landed: reads it
			switch {
			case errors.Is(err, errAfterFlight):
				afterFlightWaits.Add(1)
				continue
			case errors.Is(err, badger.ErrTxnTooBig) && n > 1:
				chunk = n / 2
				continue
			}
			return fail(err, i)
		}
		if err := s.land(fl); err != nil {
			return fail(err, fl.from)
		}
		// Opened with nothing of this call in flight, so it does not wait; it is the next
		// chunk's, built while this one is written.
		next := s.db.NewTransaction(true)
		fl = s.send(txn, st, i, n)
		txn = next
		st.flightPins, st.flightOps = st.pins, st.ops
		i += n
	}
	if err := s.land(fl); err != nil {
		return fail(err, fl.from)
	}
	return changed, nil
}
