package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/persistence"
)

// The listing and status --local read the real store without an allocation per pin (Badger
// allocates per block, not per item): a regression here multiplies by the pinset's size.
func TestReadsDoNotAllocatePerPin(t *testing.T) {
	// A memtable that holds the whole test pinset: a flush to level 0 running in the background
	// during a measured read would count its allocations as the read's (AllocsPerRun counts
	// every goroutine's); 10,000 named pins with their op log and index keys are about 8 MiB.
	st, err := persistence.Open(persistence.Options{InMemory: true, MemTableSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := newWorld(t)
	const n = 10000
	ops := make([]crdt.Op, 0, n)
	for i := range n {
		c := testCid(t, fmt.Sprint(i))
		p := api.NewPin(c, api.PinOptions{Name: fmt.Sprint("pin-", i), Metadata: map[string]string{"k": "v"}})
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, crdt.Op{Origin: w.self, Seq: uint64(i + 1), Clock: crdt.HLC(i + 1), Kind: crdt.OpPin, Cid: c, PinJSON: js})
		if i%2 == 0 {
			w.ipfs.pinned = append(w.ipfs.pinned, c)
		}
	}
	if _, err := st.Apply(ops); err != nil {
		t.Fatal(err)
	}
	w.svc.PinService.d.Store, w.svc.StatusService.d.Store = st, st
	ctx := context.Background()
	var lines int
	for name, read := range map[string]func(){
		"pin ls":         func() { _ = w.svc.PinsJSON(ctx, func([]byte) error { lines++; return nil }) },
		"status --local": func() { _ = w.svc.StatusLocalJSON(ctx, 0, func([]byte) error { lines++; return nil }) },
	} {
		lines = 0
		read()
		if lines != n {
			t.Fatalf("%s: %d lines, want %d", name, lines, n)
		}
		if perPin := testing.AllocsPerRun(2, read) / n; perPin > 0.5 {
			t.Errorf("%s: %.2f allocations per pin, want none", name, perPin)
		}
	}
}
