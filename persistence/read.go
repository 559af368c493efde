package persistence

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// ErrTrimmed is returned by OpsFrom when the asked ops were dropped from the op log by
// DropTombstones: the caller must send a snapshot (IterateRecords) instead.
var ErrTrimmed = errors.New("persistence: ops were trimmed from the op log: sync from a snapshot")

// ctxCheckEvery is how many items iterations handle between context checks.
const ctxCheckEvery = 1024

// Get returns the record (winning op) of c; found is false when c was never seen or its
// tombstone was dropped.
func (s *Store) Get(c api.Cid) (rec Record, found bool, err error) {
	if err := s.enter(); err != nil {
		return rec, false, err
	}
	defer s.leave()
	if !s.pinKeys.mayHave(pinKey(c)) {
		return rec, false, nil
	}
	err = s.db.View(func(txn *badger.Txn) error {
		if rec, found, err = getRecord(txn, c); err == nil && rec.Deleted {
			rec.Unheld, err = tombUnheld(txn, c.Bytes())
		}
		return err
	})
	return rec, found, err
}

func getRecord(txn *badger.Txn, c api.Cid) (rec Record, found bool, err error) {
	item, err := txn.Get(pinKey(c))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	err = item.Value(func(v []byte) error {
		h, err := decodeRecord(v)
		if err != nil {
			return err
		}
		rec = Record{Op: h.toOp(c), Deleted: h.kind == kindTombstone}
		found = true
		return nil
	})
	return rec, found, err
}

// GetPin returns the live pin of c; found is false for an absent CID or a tombstone.
func (s *Store) GetPin(c api.Cid) (api.Pin, bool, error) {
	rec, found, err := s.Get(c)
	if err != nil {
		return api.Pin{}, false, err
	}
	return LivePin(c, rec, found)
}

// GetPins is GetPin for many CIDs in one read transaction: a transaction's start waits for
// the writes in flight to land, so one per batch instead of one per CID keeps a batch's
// lookups from queueing behind every concurrent commit. The pins may share their slices and
// maps (Snapshot.GetPins): read them only.
func (s *Store) GetPins(cids []api.Cid) (pins []api.Pin, found []bool, err error) {
	sn := s.Snapshot()
	defer sn.Discard()
	return sn.GetPins(cids)
}

// Snapshot is a read-only view of the store as of its creation, for a reader that looks up
// many batches while writes go on (batch ingest): opening a read transaction waits until
// every commit in flight has landed, so reusing one keeps the reader off the writers' path.
// It pins the versions it can see (compaction keeps them) until Discard: readers renew it
// now and then. It holds the store's gate until Discard, so Close waits for it (lifegate.go).
// Not safe for concurrent use.
type Snapshot struct {
	txn     *badger.Txn // nil: discarded, or the store was closing
	pinKeys *keyFilter
	s       *Store
}

// Snapshot opens a view of what is committed now. On a closing store the view answers
// ErrClosed.
func (s *Store) Snapshot() *Snapshot {
	if s.enter() != nil {
		return &Snapshot{}
	}
	return &Snapshot{txn: s.db.NewTransaction(false), pinKeys: s.pinKeys, s: s}
}

// Discard releases the view; a second Discard does nothing.
func (sn *Snapshot) Discard() {
	if sn.txn == nil {
		return
	}
	sn.txn.Discard()
	sn.txn = nil
	sn.s.leave()
}

// GetPins returns the live pin of each CID as of the snapshot; found[i] is false for an
// absent CID or a tombstone. The pins of one call may share their slices and maps
// (pinDecoder): read them only.
//
// A large batch is split among goroutines that share the read transaction (Badger's Get on
// a read-only transaction only reads it; the test runs under -race). A rerun of a batch
// ingest looks up every line, and a read of a stored key is a Badger point read through every
// level-0 table (6-8 us): in one goroutine, the rerun of a 400k-line file took 3.1-3.4 s
// against 2.6 s for its first run, whose commits run beside its lookups; split, 2.3-2.8 s.
func (sn *Snapshot) GetPins(cids []api.Cid) (pins []api.Pin, found []bool, err error) {
	if sn.txn == nil {
		return nil, nil, ErrClosed
	}
	pins = make([]api.Pin, len(cids))
	found = make([]bool, len(cids))
	w := min(runtime.GOMAXPROCS(0), maxLookupWorkers, len(cids)/minLookupsPerWorker)
	if w <= 1 {
		return pins, found, sn.getPins(cids, pins, found)
	}
	errs := make([]error, w)
	var wg sync.WaitGroup
	for k := range w {
		lo, hi := k*len(cids)/w, (k+1)*len(cids)/w
		wg.Go(func() {
			// A damaged table can make Badger panic on a read: in the caller's goroutine that
			// fails one request (net/http recovers it); here it would end the process.
			defer func() {
				if r := recover(); r != nil {
					errs[k] = fmt.Errorf("persistence: reading pins: panic: %v", r)
				}
			}()
			errs[k] = sn.getPins(cids[lo:hi], pins[lo:hi], found[lo:hi])
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	return pins, found, nil
}

// The goroutines of one GetPins: each has at least minLookupsPerWorker CIDs (starting one
// costs about a point read), and there are no more than maxLookupWorkers, so that a batch's
// lookups leave cores to the commits and the gossip beside them.
const (
	maxLookupWorkers    = 4
	minLookupsPerWorker = 256
)

// getPins is GetPins of cids into pins and found, in the calling goroutine.
func (sn *Snapshot) getPins(cids []api.Cid, pins []api.Pin, found []bool) error {
	var dec pinDecoder
	for i, c := range cids {
		key := pinKey(c)
		if !sn.pinKeys.mayHave(key) {
			continue // never stored: not pinned
		}
		item, err := sn.txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		// The JSON is decoded in place: a Record would copy it first (toOp).
		err = item.Value(func(v []byte) error {
			h, err := decodeRecord(v)
			if err != nil || h.kind != kindLive {
				return err
			}
			pins[i], err = dec.decode(c, h.pinJSON)
			found[i] = err == nil
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// LivePin decodes the live pin of a record read with Get; found is false for an absent CID or a
// tombstone.
func LivePin(c api.Cid, rec Record, found bool) (api.Pin, bool, error) {
	if !found || rec.Deleted {
		return api.Pin{}, false, nil
	}
	var p api.Pin
	if err := json.Unmarshal(rec.Op.PinJSON, &p); err != nil {
		return api.Pin{}, false, fmt.Errorf("persistence: stored pin of %s is not valid JSON: %w", c, err)
	}
	return p, true, nil
}

// IteratePinsJSON calls fn with every live pin in key order (binary CID order), skipping
// tombstones without decoding them. pinJSON is only valid during fn. It reads one consistent
// snapshot in constant memory; an error from fn or ctx stops it and is returned.
func (s *Store) IteratePinsJSON(ctx context.Context, fn func(c api.Cid, pinJSON []byte) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.iterate(ctx, prefixPin, func(key, v []byte) error {
		js := pinJSONOf(v)
		if js == nil {
			return nil
		}
		c, err := api.CastCid(key[len(prefixPin):])
		if err != nil {
			return fmt.Errorf("persistence: corrupt pin key: %w", err)
		}
		return fn(c, js)
	})
}

// PinsRaw is IteratePinsJSON with the binary CID of each key instead of a decoded CID, so the
// read paths (GET /allocations, status --local) allocate nothing per pin. Both slices are only
// valid during fn.
func (s *Store) PinsRaw(ctx context.Context, fn func(cid, pinJSON []byte) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.iterate(ctx, prefixPin, func(key, v []byte) error {
		if js := pinJSONOf(v); js != nil {
			return fn(key[len(prefixPin):], js)
		}
		return nil
	})
}

// PinsRanked is PinsRaw with each record's rank (crdt.Rank), for a pass that makes
// conditional changes of what it reads (the healer's repins and expiry).
func (s *Store) PinsRanked(ctx context.Context, fn func(cid, pinJSON []byte, rank crdt.Rank) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.iterate(ctx, prefixPin, func(key, v []byte) error {
		h, err := decodeRecord(v)
		if err != nil || h.kind != kindLive {
			return nil // as PinsRaw: a corrupt record does not end the pass
		}
		return fn(key[len(prefixPin):], h.pinJSON, h.rank())
	})
}

// IteratePins is IteratePinsJSON with each pin decoded.
func (s *Store) IteratePins(ctx context.Context, fn func(api.Pin) error) error {
	return s.IteratePinsWhere(ctx, nil, func(p api.Pin, _ crdt.Rank) error { return fn(p) })
}

// IteratePinsWhere is IteratePins of the pins whose stored JSON keep accepts (nil: all), each
// with its record's rank (PinsRanked); the others are not decoded (a pass that acts on few
// pins rules the rest out by their bytes).
func (s *Store) IteratePinsWhere(ctx context.Context, keep func(pinJSON []byte) bool, fn func(api.Pin, crdt.Rank) error) error {
	return s.PinsRanked(ctx, func(c, js []byte, rank crdt.Rank) error {
		if keep != nil && !keep(js) {
			return nil
		}
		var p api.Pin
		if err := json.Unmarshal(js, &p); err != nil {
			id, _ := api.CastCid(c)
			return fmt.Errorf("persistence: stored pin of %s is not valid JSON: %w", id, err)
		}
		return fn(p, rank)
	})
}

// IterateRecords calls fn with every record, tombstones included, in key order (snapshots).
func (s *Store) IterateRecords(ctx context.Context, fn func(Record) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.iterate(ctx, prefixPin, func(key, v []byte) error {
		c, err := api.CastCid(key[len(prefixPin):])
		if err != nil {
			return fmt.Errorf("persistence: corrupt pin key: %w", err)
		}
		h, err := decodeRecord(v)
		if err != nil {
			return fmt.Errorf("persistence: record of %s: %w", c, err)
		}
		return fn(Record{Op: h.toOp(c), Deleted: h.kind == kindTombstone})
	})
}

// iterate walks a prefix in one read transaction; key and value are valid only during fn.
func (s *Store) iterate(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		return iterateTxn(ctx, txn, prefix, prefix, fn)
	})
}

func iterateTxn(ctx context.Context, txn *badger.Txn, prefix, seek []byte, fn func(key, value []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	n := 0
	for it.Seek(seek); it.Valid(); it.Next() {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		item := it.Item()
		key := item.Key()
		if err := item.Value(func(v []byte) error { return fn(key, v) }); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// CountPins returns the number of live pins (a maintained counter, not a scan).
func (s *Store) CountPins() (int, error) { return int(s.pinCount.Load()), nil }

// DiskSize is the size of the LSM tree and of the value log on disk, as Badger last measured
// them (it refreshes the figures every minute): cheap enough for every metrics scrape.
// A closing store reports 0, 0.
func (s *Store) DiskSize() (lsm, vlog int64) {
	if s.enter() != nil {
		return 0, 0
	}
	defer s.leave()
	return s.db.Size()
}

// MaxClock returns the greatest op clock ever applied (to restore the HLC after a restart).
func (s *Store) MaxClock() (crdt.HLC, error) { return crdt.HLC(s.maxClock.Load()), nil }

// VersionVector returns, per origin, the highest seq stored contiguously from 1.
func (s *Store) VersionVector() (map[peer.ID]uint64, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	vv := map[peer.ID]uint64{}
	err := s.iterate(context.Background(), prefixVV, func(key, v []byte) error {
		n, err := decU64(v)
		if err != nil {
			return err
		}
		vv[peer.ID(key[len(prefixVV):])] = n
		return nil
	})
	return vv, err
}

// LastSeq returns the highest seq stored for origin, gaps or not (0 when none): a restarted
// peer numbers its next op LastSeq(self)+1.
func (s *Store) LastSeq(origin peer.ID) (uint64, error) {
	return s.getCounter(originKey(prefixLast, origin))
}

// Applied is origin's entry of the version vector: every op of origin up to it is stored (0
// when none). Ops stored after a gap do not count until the gap fills.
func (s *Store) Applied(origin peer.ID) (uint64, error) {
	return s.getCounter(originKey(prefixVV, origin))
}

// Published returns the highest own seq broadcast over pubsub (see SetPublished).
func (s *Store) Published(origin peer.ID) (uint64, error) {
	return s.getCounter(originKey(prefixPublished, origin))
}

// SetPublished records that origin's ops up to seq were broadcast. It never moves backwards.
// After a restart, ops in (Published, LastSeq] are published again.
func (s *Store) SetPublished(origin peer.ID, seq uint64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	key := originKey(prefixPublished, origin)
	return s.update(func(txn *badger.Txn) error {
		cur, err := getU64(txn, key)
		if err != nil || seq <= cur {
			return err
		}
		return txn.Set(key, encU64(seq))
	})
}

// TrimmedTo returns the seq up to which origin's op log was trimmed (0: nothing trimmed).
func (s *Store) TrimmedTo(origin peer.ID) (uint64, error) {
	return s.getCounter(originKey(prefixTrimmed, origin))
}

// getCounter reads a counter inside the gate (LastSeq, Applied, Published, TrimmedTo).
func (s *Store) getCounter(key []byte) (v uint64, err error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	err = s.db.View(func(txn *badger.Txn) error {
		v, err = getU64(txn, key)
		return err
	})
	return v, err
}

// OpsFrom calls fn with origin's stored ops of seq >= fromSeq in seq order (including ops
// after a gap). It returns an ErrTrimmed-wrapped error, before calling fn, when some of those
// ops were trimmed from the log, and after the ops before it when an op's content went with
// its record (a stub whose record was removed, oplog.go): either way the caller falls back on
// a snapshot.
func (s *Store) OpsFrom(ctx context.Context, origin peer.ID, fromSeq uint64, fn func(crdt.Op) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.db.View(func(txn *badger.Txn) error {
		trimmed, err := getU64(txn, originKey(prefixTrimmed, origin))
		if err != nil {
			return err
		}
		if fromSeq == 0 {
			fromSeq = 1
		}
		if fromSeq <= trimmed {
			return fmt.Errorf("%w (asked from seq %d of %s, log starts after %d)", ErrTrimmed, fromSeq, origin, trimmed)
		}
		prefix := opPrefix(origin)
		seek := binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), fromSeq)
		return iterateTxn(ctx, txn, prefix, seek, func(key, v []byte) error {
			return decodeLogEntries(txn, origin, binary.BigEndian.Uint64(key[len(prefix):]), fromSeq, v, fn)
		})
	})
}
