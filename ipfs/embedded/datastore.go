package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"

	"github.com/pincluster/pincluster/internal/badgerwal"
)

// badgerDS is a go-datastore (ds.Batching) over a Badger v4 database. boxo's blockstore and
// dspinner are written against go-datastore; no badger-v4 datastore ships with the module set,
// so this small adapter fills the gap. Keys are stored as their ds.Key string.
//
// All methods are safe for concurrent use. After the DB is closed, calls return badger's
// ErrDBClosed.
type badgerDS struct {
	db    *badger.DB
	space spaceGuard // refuses writes (not deletes) when the disk is nearly full
}

var _ ds.Batching = (*badgerDS)(nil)

// openBadger opens (creating if missing) a Badger database in dir with modest memory use: the
// peer runs a second Badger for its pinset. Its memtables hold keys and value-log pointers
// (blocks over 1 KiB go to the value log), so 8 MiB ones flush at tens of thousands of blocks;
// each open memtable's arena is allocated up front, and 16 MiB ones kept about 10 MB more
// of live heap on every peer, idle or not.
func openBadger(dir string, syncWrites bool, log *slog.Logger) (*badger.DB, error) {
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(syncWrites).
		WithLogger(badgerLogger{log}).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(32 << 20).
		WithIndexCacheSize(16 << 20).
		WithValueThreshold(1 << 10). // block payloads go to the value log, keys stay small
		WithValueLogFileSize(256 << 20).
		WithNumCompactors(2)
	if dropped, err := badgerwal.DropEmptyMemtables(dir); err != nil {
		return nil, fmt.Errorf("open badger in %s: %w", dir, err)
	} else if len(dropped) > 0 {
		log.Info("removed empty memtable logs left by a crash", "dir", dir, "files", dropped)
	}
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open badger in %s (is another process using this directory?): %w", dir, err)
	}
	return db, nil
}

func (d *badgerDS) Get(_ context.Context, key ds.Key) (value []byte, err error) {
	err = d.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(key.String()))
		if err != nil {
			return err
		}
		value, err = item.ValueCopy(nil)
		return err
	})
	return value, mapErr(err)
}

func (d *badgerDS) Has(_ context.Context, key ds.Key) (bool, error) {
	err := d.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get([]byte(key.String()))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (d *badgerDS) GetSize(_ context.Context, key ds.Key) (size int, err error) {
	size = -1
	err = d.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(key.String()))
		if err != nil {
			return err
		}
		size = int(item.ValueSize())
		return nil
	})
	return size, mapErr(err)
}

func (d *badgerDS) Put(_ context.Context, key ds.Key, value []byte) error {
	if err := d.space.check(); err != nil {
		return err
	}
	return d.db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(key.String()), value)
	})
}

func (d *badgerDS) Delete(_ context.Context, key ds.Key) error {
	return d.db.Update(func(txn *badger.Txn) error {
		return txn.Delete([]byte(key.String()))
	})
}

// Sync is a no-op: with SyncWrites every commit is already fsynced; without it the caller chose
// speed over power-loss durability, and Badger still survives process crashes.
func (d *badgerDS) Sync(context.Context, ds.Key) error { return nil }

// Close does nothing: the Node owns the badger DB and closes it.
func (d *badgerDS) Close() error { return nil }

// Query iterates keys under q.Prefix in key order inside one read transaction; filters, orders,
// offset and limit are applied by go-datastore's naive helpers.
func (d *badgerDS) Query(ctx context.Context, q dsq.Query) (dsq.Results, error) {
	prefix := ds.NewKey(q.Prefix).String()
	if prefix != "/" {
		prefix += "/"
	}
	txn := d.db.NewTransaction(false)
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = !q.KeysOnly
	opt.Prefix = []byte(prefix)
	it := txn.NewIterator(opt)
	it.Rewind()
	closed := false
	closeFn := func() error {
		if !closed {
			closed = true
			it.Close()
			txn.Discard()
		}
		return nil
	}
	next := func() (dsq.Result, bool) {
		if closed || !it.Valid() {
			return dsq.Result{}, false
		}
		if err := ctx.Err(); err != nil {
			closeFn()
			return dsq.Result{Error: err}, true
		}
		item := it.Item()
		e := dsq.Entry{Key: string(item.Key()), Size: int(item.ValueSize())}
		if !q.KeysOnly {
			v, err := item.ValueCopy(nil)
			if err != nil {
				closeFn()
				return dsq.Result{Error: err}, true
			}
			e.Value = v
		}
		it.Next()
		return dsq.Result{Entry: e}, true
	}
	// The iterator already applies the prefix; NaiveQueryApply handles the rest.
	rest := q
	rest.Prefix = ""
	return dsq.NaiveQueryApply(rest, dsq.ResultsFromIterator(q, dsq.Iterator{Next: next, Close: closeFn})), nil
}

// Batch buffers writes and applies them with a Badger WriteBatch on Commit (not atomic, as
// go-datastore allows).
func (d *badgerDS) Batch(context.Context) (ds.Batch, error) {
	return &badgerBatch{db: d.db, space: d.space}, nil
}

type batchOp struct {
	key    string
	value  []byte
	delete bool
}

type badgerBatch struct {
	db    *badger.DB
	space spaceGuard
	ops   []batchOp
	puts  bool
}

func (b *badgerBatch) Put(_ context.Context, key ds.Key, value []byte) error {
	b.ops = append(b.ops, batchOp{key: key.String(), value: value})
	b.puts = true
	return nil
}

func (b *badgerBatch) Delete(_ context.Context, key ds.Key) error {
	b.ops = append(b.ops, batchOp{key: key.String(), delete: true})
	return nil
}

func (b *badgerBatch) Commit(context.Context) error {
	if b.puts {
		if err := b.space.check(); err != nil {
			return err
		}
	}
	wb := b.db.NewWriteBatch()
	defer wb.Cancel()
	for _, op := range b.ops {
		var err error
		if op.delete {
			err = wb.Delete([]byte(op.key))
		} else {
			err = wb.Set([]byte(op.key), op.value)
		}
		if err != nil {
			return err
		}
	}
	b.ops, b.puts = nil, false
	return wb.Flush()
}

func mapErr(err error) error {
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ds.ErrNotFound
	}
	return err
}

// badgerLogger forwards Badger's warnings and errors to slog and drops its chatter.
type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(f string, a ...any) {
	l.log.Error("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}
func (l badgerLogger) Warningf(f string, a ...any) {
	l.log.Warn("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}
func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
