package persistence

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// RawBadgerRates measures plain Badger in dir, opened with the Store's tuning: it writes n
// key/value pairs (34-byte keys like a pin key, valueSize-byte values) in transactions of 256
// sets, then iterates them reading keys and values. It returns sets per second and items per
// second: the baseline that `make bench` prints beside the Store's figures from the same run.
// dir should be empty; the database is left in it.
func RawBadgerRates(dir string, n int, valueSize int) (writePerSec, iteratePerSec float64, err error) {
	db, err := openRawBadger(dir)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	start := time.Now()
	if err := rawWrite(db, 0, n, valueSize); err != nil {
		return 0, 0, err
	}
	writePerSec = float64(n) / time.Since(start).Seconds()
	if err := db.Flatten(2); err != nil { // list in steady state, as the benchmarks do
		return 0, 0, err
	}
	start = time.Now()
	got, err := rawIterate(db)
	if err != nil {
		return 0, 0, err
	}
	if got != n {
		return 0, 0, fmt.Errorf("persistence: raw badger iterated %d items, wrote %d", got, n)
	}
	iteratePerSec = float64(n) / time.Since(start).Seconds()
	return writePerSec, iteratePerSec, nil
}

func openRawBadger(dir string) (*badger.DB, error) {
	opts := Options{Dir: dir}.withDefaults()
	return badger.Open(badgerOptions(opts, slog.New(slog.DiscardHandler)))
}

// rawKey mimics a pin key: "p/" + a 36-byte binary CIDv1 (here: a counter).
func rawKey(i int) []byte {
	k := make([]byte, 2, 38)
	copy(k, prefixPin)
	k = append(k, 0x01, 0x55, 0x12, 0x20)
	k = binary.BigEndian.AppendUint64(k, uint64(i)*0x9E3779B97F4A7C15) // spread like hashes
	return append(k, make([]byte, 24)...)
}

func rawWrite(db *badger.DB, from, n, valueSize int) error {
	val := make([]byte, valueSize)
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	for i := from; i < from+n; {
		txn := db.NewTransaction(true)
		for j := 0; j < 256 && i < from+n; j, i = j+1, i+1 {
			if err := txn.Set(rawKey(i), val); err != nil {
				txn.Discard()
				return err
			}
		}
		if err := txn.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// rawIterate walks every key reading key and value, like IteratePinsJSON does.
func rawIterate(db *badger.DB) (int, error) {
	count := 0
	var sink int
	err := db.View(func(txn *badger.Txn) error {
		return iterateTxn(context.Background(), txn, nil, nil, func(k, v []byte) error {
			sink += len(k) + len(v)
			count++
			return nil
		})
	})
	_ = sink
	return count, err
}
