package persistence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/badgerwal"
	"github.com/pincluster/pincluster/internal/diskspace"
)

// Options configure a Store. The zero value plus Dir (or InMemory) is usable.
type Options struct {
	// Dir holds the Badger files. The peer locks the config folder; Badger's own directory
	// lock refuses a second process on the same Dir.
	Dir string
	// SyncWrites fsyncs every commit: Apply returns only once its ops are on disk.
	SyncWrites bool
	// InMemory keeps everything in memory (tests); Dir is ignored.
	InMemory bool
	// Logger receives Badger's warnings and errors; nil discards them.
	Logger *slog.Logger
	// MinFreeSpace is the free space (bytes) the filesystem holding Dir keeps in reserve:
	// below it every write fails with api.ErrInsufficientStorage and writes resume by
	// themselves once space returns (0: DefaultMinFreeSpace; negative: no check). Badger
	// writes through memory-mapped files, and such a write on a full disk kills the process
	// instead of failing, so the store stops writing while there is room left.
	MinFreeSpace int64
	// WriteFault, when set, is called before every write; an error fails that write as a
	// failing disk would (classified like one: syscall.ENOSPC reads as a full disk, and the
	// result wraps api.ErrInsufficientStorage). It is the fault-injection seam (tests, and
	// internal/faults in a running daemon); production leaves it nil.
	WriteFault func() error

	// Memory tuning; zero picks the default in parentheses. Badger's steady memory is roughly
	// NumMemtables*MemTableSize + BlockCacheSize + IndexCacheSize (about 100 MB with the
	// defaults) whatever the number of pins, plus the tables' indexes and Bloom filters, which
	// stay in the mapped table files (file-backed, about 3.5 bytes of filter per pin:
	// badgerOptions); compactions during heavy ingest add transient
	// table-builder buffers (bounded by the 2 MiB table size), which the Go GC reclaims
	// promptly when the process sets a memory limit (debug.SetMemoryLimit).
	// MemTableSize: bytes per memtable, also the size of level-0 tables (8 MiB). Measured when
	// level 0 held 16 tables (badgerOptions), 8 MiB used 5-10% less CPU on a 3-peer 200k-pin
	// batch ingest than 16 MiB holding 8 (1,520-1,830 CPU ticks against 1,700-1,990; fewer page
	// faults on fresh arenas), and 32 MiB no less than 16.
	MemTableSize     int64
	NumMemtables     int   // memtables held before flushing stalls writes (3)
	BlockCacheSize   int64 // cache of decompressed table blocks, speeds up listing (32 MiB)
	IndexCacheSize   int64 // cache of table indexes and bloom filters of encrypted tables only (16 MiB)
	ValueLogFileSize int64 // size of each value log file (64 MiB); values >= 64 KiB go there
}

func (o Options) withDefaults() Options {
	if o.MemTableSize <= 0 {
		o.MemTableSize = 8 << 20
	}
	if o.NumMemtables <= 0 {
		o.NumMemtables = 3
	}
	if o.BlockCacheSize <= 0 {
		o.BlockCacheSize = 32 << 20
	}
	if o.IndexCacheSize <= 0 {
		o.IndexCacheSize = 16 << 20
	}
	if o.ValueLogFileSize <= 0 {
		o.ValueLogFileSize = 64 << 20
	}
	return o
}

// Store is the durable replicated pinset: pin records, op logs, version vectors and counters
// in one Badger database. See the package doc for the key layout and the method contracts.
//
// Writes (Apply, Import, DropTombstones, SetPublished) are serialised by an internal mutex;
// the pinset actor is expected to be the only caller of Apply. Reads run concurrently with
// writes and see only committed states.
type Store struct {
	db      *badger.DB
	log     *slog.Logger
	dir     string
	minFree int64 // Options.MinFreeSpace; <= 0: no check
	// roomyAt is when a free-space reading last found room to spare (sinceOpen + 1; 0: never).
	roomyAt   atomic.Int64
	freeSpace func(dir string) (uint64, error) // diskspace.Free; tests replace it
	sinceOpen func() time.Duration             // monotonic time since Open; tests replace it

	writeMu        sync.Mutex
	origins        map[peer.ID]originCounters // v/ and l/ as committed, under writeMu (apply.go)
	trimmed        map[peer.ID]uint64         // each origin's log trimmed in full up to, this run, under writeMu (trimLog)
	ownDigestMu    sync.Mutex                 // serialises the own digest's read-modify-writes (statusdigest.go)
	replicaLocksMu sync.Mutex
	replicaLocks   map[peer.ID]*replicaLock // each replica's writer lock (lockReplica), kept for the store's life
	writeFault     func() error             // Options.WriteFault
	pinCount       atomic.Int64             // live pins, mirrors m/count
	maxClock       atomic.Uint64            // greatest clock applied, mirrors m/clock
	queueMu        sync.Mutex               // serialises WriteQueue (trackqueue.go)
	queueLen       atomic.Int64             // tracker queue entries, mirrors m/tqlen (trackqueue.go)
	queueSeq       atomic.Uint64            // last tracker queue seq, mirrors m/tqseq
	// queueFailed counts the failed entries (tq/f), counted at open and kept under queueMu:
	// while there are none, queue writes skip looking for one (a read per new pin).
	queueFailed atomic.Int64
	// queueBatched counts the CIDs of batch entries, mirrors m/tqbatch (trackqueue_batch.go).
	queueBatched atomic.Int64

	// Exclusions (members.go): cached mx/ entries, the handler told of pins that raced a
	// collection, and those found by the write in progress (under writeMu).
	exclusions atomic.Pointer[map[peer.ID]crdt.HLC]
	onRaced    func([]crdt.Op)
	raced      []crdt.Op

	indexed      atomic.Bool // the name and metadata indexes are complete (index.go)
	tombsIndexed atomic.Bool // the tombstone index is complete (tombstones.go)

	pinKeys *keyFilter // every pin key stored or being written (keyfilter.go)
	// The filter's load worker: cancelled and joined by Close. keyLoadMu guards the fields: a
	// LoadBackup that outlives Close's wait restarts the load while Close stops it.
	keyLoadMu     sync.Mutex
	keyLoadCancel context.CancelFunc
	keyLoadDone   chan struct{}
	keyLoadEnded  bool // Close stopped it for good

	gate lifeGate // the calls using Badger; Close waits for them (lifegate.go)
}

// startKeyLoad runs the pin key filter's load in a worker (keyfilter.go).
func (s *Store) startKeyLoad() {
	s.keyLoadMu.Lock()
	defer s.keyLoadMu.Unlock()
	if s.keyLoadEnded {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.keyLoadCancel, s.keyLoadDone = cancel, done
	go func() {
		defer close(done)
		start := time.Now()
		if err := s.pinKeys.load(ctx, s.db); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("persistence: pin key filter not loaded; every lookup reads the store", "err", err)
			}
			return
		}
		s.log.Debug("persistence: pin key filter loaded", "took", time.Since(start).Round(time.Millisecond), "bytes", s.pinKeys.memory())
	}()
}

// stopKeyLoad cancels the filter's load and waits for it; final (Close) also refuses any
// later start.
func (s *Store) stopKeyLoad(final bool) {
	s.keyLoadMu.Lock()
	defer s.keyLoadMu.Unlock()
	s.keyLoadEnded = s.keyLoadEnded || final
	if s.keyLoadCancel != nil {
		s.keyLoadCancel()
		<-s.keyLoadDone
		s.keyLoadCancel = nil
	}
}

// Record is the winning op of a CID; Deleted when that op is an unpin (a tombstone).
type Record struct {
	Op      crdt.Op
	Deleted bool
	// Unheld: an unheld tombstone (tombstones.go), which licenses no unpin on this peer's
	// IPFS node. Set by Get, PruneAbsent and DropAfterCutoff; this peer's alone, never sent.
	Unheld bool
}

// Open opens (creating when missing) the store at opts.Dir.
func Open(opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if !opts.InMemory && opts.Dir == "" {
		return nil, errors.New("persistence: Options.Dir is empty: set the state folder (or InMemory for tests)")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bo := badgerOptions(opts, logger)
	if opts.InMemory {
		bo = bo.WithDir("").WithValueDir("")
	} else if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("persistence: create state folder: %w", err)
	} else if dropped, err := badgerwal.DropEmptyMemtables(opts.Dir); err != nil {
		return nil, openError(opts.Dir, err)
	} else if len(dropped) > 0 {
		logger.Info("persistence: removed empty memtable logs left by a crash", "files", dropped)
	}
	db, err := openBadger(bo)
	if err != nil {
		return nil, openError(opts.Dir, err)
	}
	s := &Store{db: db, log: logger, dir: opts.Dir, minFree: opts.MinFreeSpace, writeFault: opts.WriteFault, freeSpace: diskspace.Free,
		origins: map[peer.ID]originCounters{}, trimmed: map[peer.ID]uint64{}, replicaLocks: map[peer.ID]*replicaLock{}}
	opened := time.Now()
	s.sinceOpen = func() time.Duration { return time.Since(opened) }
	if opts.InMemory {
		s.minFree = -1
	} else if s.minFree == 0 {
		s.minFree = DefaultMinFreeSpace
	}
	if err := s.load(); err != nil {
		db.Close()
		if fe := (*formatError)(nil); errors.As(err, &fe) {
			return nil, err
		}
		return nil, openError(opts.Dir, err)
	}
	if err := s.dropOldReplicas(); err != nil {
		db.Close()
		return nil, openError(opts.Dir, err)
	}
	if err := s.indexDigestUnpins(); err != nil { // a listing aid: built again at the next open
		logger.Warn("persistence: index of the other peers' unpins not built; global listings may miss some", "err", err)
	}
	s.pinKeys = newKeyFilter(uint64(max(s.pinCount.Load(), 0)))
	s.startKeyLoad()
	return s, nil
}

// formatError: the store is readable but in a format this version does not read.
type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }

// openBadger is badger.Open, turning a panic on damaged files into an error.
func openBadger(bo badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("panic while reading the files: %v", r)
		}
	}()
	return badger.Open(bo)
}

// Table tuning (variables so that memory experiments can change them).
var (
	// baseTableSize is the size of every table above level 0 (TableSizeMultiplier is 1):
	// compaction buffers scale with it, so deep levels must not grow 16-64 MiB tables.
	baseTableSize int64 = 2 << 20
	compression         = options.Snappy
)

// badgerOptions maps Options (with defaults applied) to Badger's, tuned for a modest memory
// footprint: small memtables, bounded block and index caches, values under 64 KiB kept in the
// LSM tree so that listing never touches the value log.
//
// Level 0 holds up to 64 tables (512 MiB of writes with 8 MiB memtables) before it is
// compacted, and writes stall at 128: pin keys are random CIDs and every commit also writes the
// counters and the tracker queue, so every level-0 table spans the whole key range and each
// level-0 compaction rewrites the whole base level; compacting more at a time cuts those
// rewrites, and the levels below fill more slowly. Measured (2026-12-04) with a fresh peer
// catching up with a quiet peer holding 10M pins: 185-194 s, 294-308 s of its CPU and 14.1 GB
// written with 64 tables, against 216-278 s, 318-438 s and 16.7-19.4 GB with 16; in isolation
// (raw Badger, 10M sorted records with their counters) 198 s of CPU against 276 s (32 tables:
// 241 s). Larger memtables for the same budget (32 MiB, 16 tables) wrote as little but cost
// more memory and were slower end to end (one run). The cost is on reads at rest: up to 63
// overlapping level-0 tables stay until the next compaction (raw Badger at 1M pins: listing
// 1.13M keys/s against 1.65M, point reads 2.4x slower). Lookups of new CIDs do not search the
// level-0 tables (keyfilter.go).
//
// A read of a stored key checks the Bloom filter of every level-0 table and searches each
// table that may hold the key (a block read, decompressed unless cached). Badger's default
// BloomFalsePositive of 0.01 builds filters of 7 bits and 4 probes per key, about 4% false
// positives: with 21 level-0 tables (a fresh peer after a 400k-pin batch ingest) a read
// searched 1.8 tables, and with 63 it would search 3.4. At 0.0001 (14 bits and 9 probes per
// key) it searches 1.09 (0.001: 1.27), and a rerun of that ingest, which reads every line's
// record, took 3.9-5.0 s of the daemon's CPU instead of 6.1-7.3 s (2026-12-04). The filters
// are in each table's index, which Badger keeps in the mapped table file (the index cache
// only serves encrypted tables), outside the memory budget of Options: 14 bits per key where
// the default made 7, and a pin has two keys (its record and its op-log entry), so about
// 3.5 bytes per pin (35 MB at 10M pins, 1.75 of them for this setting; measured 0.70 MB of
// filters for 200k pins against 0.35). Tables written before keep their filters until
// compaction rewrites them.
func badgerOptions(opts Options, logger *slog.Logger) badger.Options {
	bo := badger.DefaultOptions(opts.Dir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(opts.SyncWrites).
		WithLogger(badgerLogger{logger}).
		WithMemTableSize(opts.MemTableSize).
		WithNumMemtables(opts.NumMemtables).
		WithBlockCacheSize(opts.BlockCacheSize).
		WithIndexCacheSize(opts.IndexCacheSize).
		WithValueLogFileSize(opts.ValueLogFileSize).
		WithValueThreshold(64 << 10).
		WithBaseTableSize(baseTableSize).
		WithNumLevelZeroTables(64).
		WithNumLevelZeroTablesStall(128).
		WithNumCompactors(2).
		WithCompression(compression).
		WithDetectConflicts(false). // writes are serialised by writeMu
		WithMetricsEnabled(false).
		WithBloomFalsePositive(0.0001)
	bo.TableSizeMultiplier = 1
	return bo
}

// load checks the format and reads the maintained counters.
func (s *Store) load() error {
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound): // a new store: its indexes start complete
			if err := txn.Set(keyFormat, encU64(StoreFormat)); err != nil {
				return err
			}
			if err := txn.Set(keyIndexed, encU64(indexVersion)); err != nil {
				return err
			}
			if err := txn.Set(keyTombIndexed, encU64(1)); err != nil {
				return err
			}
			if err := txn.Set(keyDigestUnpinsIdx, encU64(1)); err != nil {
				return err
			}
			if err := txn.Set(keyPackedReplicas, encU64(1)); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			f, err := decU64(v)
			if err != nil {
				return err
			}
			if f >= 1 && f < StoreFormat { // full entries, stubs, runs: valid in format 4 as they are
				if err := txn.Set(keyFormat, encU64(StoreFormat)); err != nil {
					return err
				}
				f = StoreFormat
			}
			if f != StoreFormat {
				return &formatError{fmt.Sprintf("persistence: store format %d is not supported by this version (reads %d): run `pincluster state upgrade` with a matching version", f, StoreFormat)}
			}
		}
		n, err := getU64(txn, keyPinCount)
		if err != nil {
			return err
		}
		c, err := getU64(txn, keyMaxClock)
		if err != nil {
			return err
		}
		ql, err := getU64(txn, keyQueueLen)
		if err != nil {
			return err
		}
		qs, err := getU64(txn, keyQueueSeq)
		if err != nil {
			return err
		}
		qb, err := getU64(txn, keyQueueBatched)
		if err != nil {
			return err
		}
		idx, err := getU64(txn, keyIndexed)
		if err != nil {
			return err
		}
		s.indexed.Store(idx == indexVersion)
		tombs, err := readTombIndexed(txn)
		if err != nil {
			return err
		}
		s.tombsIndexed.Store(tombs)
		s.pinCount.Store(int64(n))
		s.maxClock.Store(c)
		s.queueLen.Store(int64(ql))
		s.queueSeq.Store(qs)
		s.queueBatched.Store(int64(qb))
		failed, err := countKeys(txn, prefixQueueFailed)
		s.queueFailed.Store(failed)
		return err
	})
}

// countKeys counts the keys under prefix, reading keys only.
func countKeys(txn *badger.Txn, prefix []byte) (int64, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var n int64
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return n, nil
}

// Close waits for the calls in flight (up to closeTimeout; new ones fail with ErrClosed),
// stops the key filter's load, then flushes and closes the database. When calls are still in
// after the wait, Badger is left open for the process exit: closing it under a live iterator
// crashes the process, while an unclosed store recovers from its write-ahead log at the next
// open, as after a crash (every acknowledged write is already durable there). A second Close
// returns ErrClosed.
func (s *Store) Close() error {
	// The gate first: a LoadBackup in flight restarts the key load when it ends.
	left, first := s.gate.close(closeTimeout)
	if !first {
		return ErrClosed
	}
	s.stopKeyLoad(true)
	if left > 0 {
		return fmt.Errorf("persistence: close: %d calls still use the pinset store after %s; "+
			"it was left open for the process exit (it recovers from its log at the next open)", left, closeTimeout)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	return s.db.Close()
}

// getU64 reads a big-endian counter; a missing key is 0.
func getU64(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var v uint64
	err = item.Value(func(b []byte) error {
		var err error
		v, err = decU64(b)
		return err
	})
	return v, err
}

// badgerLogger sends Badger's log to slog (info and debug are dropped: Badger is chatty).
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	msg := fmt.Sprintf(f, a...)
	if cacheAdvice(f) {
		b.l.Debug(msg, "component", "badger")
		return
	}
	b.l.Warn(msg, "component", "badger")
}

// cacheAdvice reports Badger's minutely advice that a cache "might be too small" (and the
// histogram after it). The caches are small on purpose (badgerOptions): a listing or a
// catch-up streams through far more blocks than any cache holds, so the advice came every
// minute of every bulk pass, as a warning of a dozen lines, about nothing to fix.
func cacheAdvice(format string) bool {
	return strings.Contains(format, "might be too small") || strings.HasPrefix(format, "Cache life expectancy")
}
func (b badgerLogger) Infof(string, ...any)  {}
func (b badgerLogger) Debugf(string, ...any) {}
