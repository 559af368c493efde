package persistence

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// GetPins of a batch large enough to be split among goroutines answers as GetPin does for each
// CID: live pins (most of one shape, as a batch ingest stores them), tombstones, CIDs never
// stored, repeats. Under -race it also checks that the goroutines share the read transaction
// safely.
func TestSnapshotGetPinsMatchesGetPin(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(maxLookupWorkers)) // split on any machine
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	const n = 1200
	ops := make([]crdt.Op, 0, n)
	for i := range n {
		name := "batch"
		if i%7 == 0 {
			name = fmt.Sprintf("pin-%d", i)
		}
		ops = append(ops, pinOp(t, p, uint64(i+1), crdt.HLC(i+1), mkCid(t, i), name))
	}
	mustApply(t, s, ops...)
	var unpins []crdt.Op
	for i := 0; i < n; i += 5 {
		unpins = append(unpins, unpinOp(p, uint64(n+len(unpins)+1), crdt.HLC(2*n+i), mkCid(t, i)))
	}
	mustApply(t, s, unpins...)
	cids := make([]api.Cid, 2*n) // stored, unpinned and never stored, in no order, some twice
	for i := range cids {
		cids[i] = mkCid(t, i*7919%(n+n/2))
	}
	sn := s.Snapshot()
	defer sn.Discard()
	pins, found, err := sn.GetPins(cids)
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for i, c := range cids {
		want, ok, err := s.GetPin(c)
		if err != nil {
			t.Fatal(err)
		}
		if found[i] != ok {
			t.Fatalf("%s: found %v, GetPin found %v", c, found[i], ok)
		}
		if !ok {
			continue
		}
		live++
		got, _ := json.Marshal(pins[i])
		w, _ := json.Marshal(want)
		if string(got) != string(w) || pins[i].Cid != c {
			t.Fatalf("%s:\nGetPins %s\nGetPin  %s", c, got, w)
		}
	}
	if live == 0 || live == len(cids) {
		t.Fatalf("%d of %d found: the test lacks live pins or absent ones", live, len(cids))
	}
}

// A corrupt record fails GetPins, split among goroutines or not.
func TestSnapshotGetPinsFailsOnACorruptRecord(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(maxLookupWorkers))
	s, _ := openTemp(t)
	p := newPeer(t, 1)
	const n = 1100
	ops := make([]crdt.Op, 0, n)
	for i := range n {
		ops = append(ops, pinOp(t, p, uint64(i+1), crdt.HLC(i+1), mkCid(t, i), "batch"))
	}
	mustApply(t, s, ops...)
	bad := pinKey(mkCid(t, n/2))
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(bad, []byte{kindLive}) }); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{10, n} {
		cids := make([]api.Cid, size)
		for i := range cids {
			cids[i] = mkCid(t, n/2-size/2+i)
		}
		sn := s.Snapshot()
		_, _, err := sn.GetPins(cids)
		sn.Discard()
		if err == nil {
			t.Fatalf("GetPins of %d CIDs with a corrupt record: no error", size)
		}
	}
}
