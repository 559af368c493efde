package persistence

import (
	"fmt"
	"testing"

	"github.com/pincluster/pincluster/api"
)

func TestKeyFilterHasEveryKeyAddedAcrossChainedFilters(t *testing.T) {
	f, err := newKeyFilter(0)
	if err != nil {
		t.Fatal(err)
	}
	n := 4 * minKeyFilterBits / keyFilterBitsPerKey // fills the first two filters (1 and 2 units) and chains a third
	for i := range n {
		f.add(fmt.Appendf(nil, "p/key-%d", i))
	}
	if len(f.filters) != 3 {
		t.Fatalf("%d filters after %d keys, want 3 (doubling)", len(f.filters), n)
	}
	for i := range n {
		if !f.mayHave(fmt.Appendf(nil, "p/key-%d", i)) {
			t.Fatalf("key %d added but reported absent", i)
		}
	}
	fp := 0
	const probes = 100000
	for i := range probes {
		if f.mayHave(fmt.Appendf(nil, "p/other-%d", i)) {
			fp++
		}
	}
	// Each filter is at or under 1% at capacity; three of them, checked in turn, stay under 3%.
	if fp > probes*3/100 {
		t.Fatalf("%d false positives in %d probes", fp, probes)
	}
	if got, want := f.memory(), uint64(minKeyFilterBits*(1+2+4)/8); got != want {
		t.Fatalf("memory %d, want %d", got, want)
	}
}

func TestKeyFilterStopsChainingAtItsBound(t *testing.T) {
	f, err := newKeyFilter(0)
	if err != nil {
		t.Fatal(err)
	}
	f.total = maxKeyFilterBits - f.bits // as if the chain had reached its bound
	capacity := int(f.bits / keyFilterBitsPerKey)
	for i := range capacity + 1000 {
		f.add(fmt.Appendf(nil, "k%d", i))
	}
	if len(f.filters) != 1 {
		t.Fatalf("%d filters: chained past the bound", len(f.filters))
	}
	for i := range capacity + 1000 {
		if !f.mayHave(fmt.Appendf(nil, "k%d", i)) {
			t.Fatalf("key %d of an overfull filter reported absent", i)
		}
	}
}

func TestKeyFilterSizedForTheStoredPins(t *testing.T) {
	f, err := newKeyFilter(10_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if f.bits < 2*10_000_000*keyFilterBitsPerKey && f.bits != maxKeyFilterBits {
		t.Fatalf("first filter of %d bits for 10M pins", f.bits)
	}
	if f.memory() > maxKeyFilterBits/8 {
		t.Fatalf("filter of %d bytes, over the bound", f.memory())
	}
}

// After a reopen the filter is rebuilt from the stored keys, tombstones included: an op older
// than a stored tombstone must still lose to it (a filter that forgot the key would let the
// op merge as if the CID were new, resurrecting the deletion).
func TestReopenedStoreStillReadsEveryRecordBeforeMerging(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a, b := newPeer(t, 1), newPeer(t, 2)
	const n = 300
	var cids []api.Cid
	for i := range n {
		c := mkCid(t, i)
		cids = append(cids, c)
		mustApply(t, s, pinOp(t, a, uint64(2*i+1), 100, c, "x"), unpinOp(a, uint64(2*i+2), 300, c))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, c := range cids {
		rec, found, err := s.Get(c)
		if err != nil || !found || !rec.Deleted {
			t.Fatalf("cid %d after reopen: found=%v deleted=%v err=%v", i, found, rec.Deleted, err)
		}
		// b's pin is older than a's unpin: it must lose.
		if ch := mustApply(t, s, pinOp(t, b, uint64(i+1), 200, c, "stale")); ch[0] {
			t.Fatalf("cid %d: an op older than its tombstone won after reopen", i)
		}
	}
	if n, _ := s.CountPins(); n != 0 {
		t.Fatalf("%d pins live, want 0", n)
	}
	// A CID never stored reads as absent without a record, and merges as new.
	fresh := mkCid(t, n+1)
	if _, found, _ := s.Get(fresh); found {
		t.Fatal("a CID never stored was found")
	}
	if ch := mustApply(t, s, pinOp(t, b, n+1, 400, fresh, "new")); !ch[0] {
		t.Fatal("a new CID's pin did not win")
	}
	sn := s.Snapshot()
	defer sn.Discard()
	_, found, err := sn.GetPins([]api.Cid{fresh, cids[0], mkCid(t, n+2)})
	if err != nil || !found[0] || found[1] || found[2] {
		t.Fatalf("GetPins found=%v err=%v, want [true false false]", found, err)
	}
}

func BenchmarkKeyFilter(b *testing.B) {
	f, err := newKeyFilter(1_000_000)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([][]byte, 1_000_000)
	for i := range keys {
		keys[i] = pinKey(mkCid(b, i))
		f.add(keys[i])
	}
	b.ResetTimer()
	for i := range b.N {
		f.mayHave(keys[i%len(keys)])
	}
}
