package persistence

import (
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

const (
	benchBatch = 256
	benchPins  = 100_000
)

// benchOps builds n pin ops of origin seqs from+1..from+n on distinct CIDs.
func benchOps(b *testing.B, from, n int) []crdt.Op {
	p := newPeer(b, 1)
	ops := make([]crdt.Op, n)
	for i := range ops {
		seq := from + i + 1
		c := mkCid(b, seq)
		ops[i] = crdt.Op{Origin: p, Seq: uint64(seq), Clock: crdt.HLC(seq), Kind: crdt.OpPin, Cid: c, PinJSON: pinJSON(b, c, "bench-pin")}
	}
	return ops
}

// benchValueSize is the size of a typical record value (header + pin JSON), used by the raw
// baselines.
func benchValueSize(b *testing.B) int {
	return len(encodeRecord(benchOps(b, 0, 1)[0]))
}

// BenchmarkApply applies batches of 256 new pin ops (each: op log entry + record + counters).
func BenchmarkApply(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const pool = 64 * benchBatch
	ops := benchOps(b, 0, pool)
	next := 0
	applied := 0
	start := time.Now()
	for b.Loop() {
		if next+benchBatch > len(ops) { // renumber the pool for the next round of new ops
			b.StopTimer()
			for i := range ops {
				ops[i].Seq += pool
				ops[i].Clock += pool
				ops[i].Cid = mkCid(b, int(ops[i].Seq))
			}
			next = 0
			b.StartTimer()
		}
		if _, err := s.Apply(ops[next : next+benchBatch]); err != nil {
			b.Fatal(err)
		}
		next += benchBatch
		applied += benchBatch
	}
	b.ReportMetric(float64(applied)/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkRawBadgerWrite is Apply's baseline: plain sets of record-sized values in
// transactions of 256.
func BenchmarkRawBadgerWrite(b *testing.B) {
	db, err := openRawBadger(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	size := benchValueSize(b)
	written := 0
	start := time.Now()
	for b.Loop() {
		if err := rawWrite(db, written, benchBatch, size); err != nil {
			b.Fatal(err)
		}
		written += benchBatch
	}
	b.ReportMetric(float64(written)/time.Since(start).Seconds(), "sets/s")
}

// BenchmarkIteratePinsJSON lists 100k live pins.
func BenchmarkIteratePinsJSON(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < benchPins; i += 4096 {
		if _, err := s.Apply(benchOps(b, i, min(4096, benchPins-i))); err != nil {
			b.Fatal(err)
		}
	}
	settle(b, s.db)
	total := 0
	start := time.Now()
	for b.Loop() {
		n := 0
		err := s.IteratePinsJSON(b.Context(), func(c api.Cid, js []byte) error {
			n += len(js)
			total++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "pins/s")
}

// BenchmarkRawBadgerIterate is the listing baseline: a key+value iteration of 100k
// record-sized values.
func BenchmarkRawBadgerIterate(b *testing.B) {
	db, err := openRawBadger(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := rawWrite(db, 0, benchPins, benchValueSize(b)); err != nil {
		b.Fatal(err)
	}
	settle(b, db)
	total := 0
	start := time.Now()
	for b.Loop() {
		n, err := rawIterate(db)
		if err != nil {
			b.Fatal(err)
		}
		total += n
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "items/s")
}

// settle compacts the LSM tree so that listing is measured in steady state, not while level 0
// still holds the tables of the load.
func settle(b *testing.B, db *badger.DB) {
	if err := db.Flatten(2); err != nil {
		b.Fatal(err)
	}
}

func TestRawBadgerRates(t *testing.T) {
	w, it, err := RawBadgerRates(t.TempDir(), 5000, 250)
	if err != nil || w <= 0 || it <= 0 {
		t.Fatalf("rates %f %f: %v", w, it, err)
	}
}

// BenchmarkUnpinIngestedInOrder: 30k pins ingested in chunks of 4096 (op log runs), then
// unpinned by another peer in the same order, chunk by chunk: each unpin splits the run of
// the pin it replaces. Reported per unpin.
func BenchmarkUnpinIngestedInOrder(b *testing.B) {
	const n, chunk = 30_000, 4096
	ops := benchOps(b, 0, n)
	q := newPeer(b, 2)
	unpins := make([]crdt.Op, n)
	for i, op := range ops {
		unpins[i] = crdt.Op{Origin: q, Seq: uint64(i + 1), Clock: crdt.HLC(n + i + 1), Kind: crdt.OpUnpin, Cid: op.Cid}
	}
	for b.Loop() {
		b.StopTimer()
		s, _ := openTemp(b)
		for i := 0; i < n; i += chunk {
			mustApply(b, s, ops[i:min(i+chunk, n)]...)
		}
		b.StartTimer()
		for i := 0; i < n; i += chunk {
			mustApply(b, s, unpins[i:min(i+chunk, n)]...)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/unpin")
}

// BenchmarkCollectionRound times a tombstone collection round on a store of 1M live pins and
// 100 tombstones no member has seen yet (so every round finds them again): from the tombstone
// index, and as a store without a complete index reads it (every record), the baseline.
func BenchmarkCollectionRound(b *testing.B) {
	if testing.Short() {
		b.Skip("fills a 1M-pin store")
	}
	const pins, tombs = 1_000_000, 100
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for from := 0; from < pins; from += 4096 {
		if _, err := s.Apply(benchOps(b, from, min(4096, pins-from))); err != nil {
			b.Fatal(err)
		}
	}
	p := newPeer(b, 1)
	unpins := make([]crdt.Op, tombs)
	for i := range unpins {
		seq := pins + i + 1
		unpins[i] = crdt.Op{Origin: p, Seq: uint64(seq), Clock: crdt.HLC(seq), Kind: crdt.OpUnpin, Cid: mkCid(b, i+1)}
	}
	if _, err := s.Apply(unpins); err != nil {
		b.Fatal(err)
	}
	upTo := map[peer.ID]uint64{p: pins} // the unpins stay; the pins' log entries are trimmed once
	for _, mode := range []struct {
		name    string
		indexed bool
	}{{"index", true}, {"every-record", false}} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				s.tombsIndexed.Store(mode.indexed)
				if n, err := s.DropTombstones(b.Context(), upTo); err != nil || n != 0 {
					b.Fatal(n, err)
				}
			}
		})
	}
}
