package persistence

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/poll"
)

func TestKeyFilterHasEveryKeyAddedAcrossChainedFilters(t *testing.T) {
	f := newKeyFilter(0)
	f.ready.Store(true)
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
	f := newKeyFilter(0)
	f.ready.Store(true)
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
	f := newKeyFilter(10_000_000)
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
	s = reopen(t, s, dir)
	waitKeysLoaded(t, s)
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

func waitKeysLoaded(t *testing.T, s *Store) {
	t.Helper()
	if !poll.Until(10*time.Second, time.Millisecond, s.pinKeys.ready.Load) {
		t.Fatal("the pin key filter did not load")
	}
}

// Until its load ends the filter says every key may be stored; a key added during the load
// (a write racing it) is kept whether or not the scan saw it; a cancelled load leaves the
// filter answering "maybe" for good.
func TestKeyFilterLoad(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	for i := range 50 {
		mustApply(t, s, pinOp(t, p, uint64(i+1), 100, mkCid(t, i), "x"))
	}
	f := newKeyFilter(0)
	never := pinKey(mkCid(t, 999))
	if !f.mayHave(never) {
		t.Fatal("an unloaded filter ruled a key out")
	}
	racing := pinKey(mkCid(t, 1000)) // written while the scan runs, after its snapshot
	f.add(racing)
	if err := f.load(t.Context(), s.db); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if !f.mayHave(pinKey(mkCid(t, i))) {
			t.Fatalf("stored key %d ruled out after the load", i)
		}
	}
	if !f.mayHave(racing) || f.mayHave(never) {
		t.Fatalf("after the load: racing key %v (want true), never-stored key %v (want false)", f.mayHave(racing), f.mayHave(never))
	}

	g := newKeyFilter(0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_ = g.load(ctx, s.db) // 50 keys: may finish before it looks at ctx
	if !g.ready.Load() && !g.mayHave(never) {
		t.Fatal("a cancelled, unready filter ruled a key out")
	}
}

func BenchmarkKeyFilter(b *testing.B) {
	f := newKeyFilter(1_000_000)
	f.ready.Store(true)
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

// BenchmarkKeyFilterMiss looks up keys never added in the chain a fresh store grows while 4M
// keys arrive (a snapshot's catch-up: nearly every lookup is a miss through every filter).
func BenchmarkKeyFilterMiss(b *testing.B) {
	f := newKeyFilter(0)
	f.ready.Store(true)
	for i := range 4_000_000 {
		f.add(fmt.Appendf(nil, "p/key-%d", i))
	}
	probes := make([][]byte, 1<<16)
	for i := range probes {
		probes[i] = fmt.Appendf(nil, "p/other-%d", i)
	}
	b.ResetTimer()
	for i := range b.N {
		f.mayHave(probes[i%len(probes)])
	}
}
