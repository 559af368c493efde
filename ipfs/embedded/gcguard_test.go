package embedded

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/poll"
)

// gcWithin runs a GC and fails the test if it does not return within d.
func gcWithin(t *testing.T, n *Node, d time.Duration) []api.Cid {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	removed, err := n.GC(ctx)
	if err != nil {
		t.Fatalf("GC did not finish within %s: %v", d, err)
	}
	return removed
}

func wasRemoved(removed []api.Cid, c api.Cid) bool {
	for _, r := range removed {
		if string(r.Hash()) == string(c.Hash()) {
			return true
		}
	}
	return false
}

// The reported hang: a pin waiting for blocks that never come made `ipfs gc` wait up to
// pin_timeout, and every add queued behind the waiting GC. Now GC returns at once and the add
// goes through while the pin is still in flight.
func TestGCAndAddDoNotWaitForAnInFlightPin(t *testing.T) {
	n := newNode(t, func(c *Config) { c.Host = newHost(t) }) // added roots stay protected for the pin
	pinCtx, stopPin := context.WithCancel(context.Background())
	pinDone := make(chan error, 1)
	go func() {
		pinDone <- n.Pin(pinCtx, mustCid(t, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"), api.PinModeRecursive, nil)
	}()
	defer func() { stopPin(); <-pinDone }()
	if !poll.Until(5*time.Second, time.Millisecond, func() bool { return n.guard.inProgress() > 0 }) {
		t.Fatal("pin never started")
	}
	garbage := merkledag.NewRawNode(randBytes(40, 3_000)) // stored, never pinned nor added
	if err := n.localDAG.Add(testCtx(t), garbage); err != nil {
		t.Fatal(err)
	}

	gcDone := make(chan []api.Cid, 1)
	go func() {
		removed, _ := n.GC(testCtx(t))
		gcDone <- removed
	}()
	addCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	added, err := n.Add(addCtx, fileDir("f", randBytes(41, 5_000)), params(nil), nil)
	if err != nil {
		t.Fatalf("add while a pin is in flight and a GC runs: %v", err)
	}
	select {
	case removed := <-gcDone:
		if !wasRemoved(removed, api.NewCid(garbage.Cid())) {
			t.Fatalf("GC did not collect the unpinned block: %v", removed)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GC waited for the pin in flight")
	}
	if err := n.Pin(addCtx, added, api.PinModeRecursive, nil); err != nil {
		t.Fatalf("pin of the add made during the GC: %v", err)
	}
	select {
	case err := <-pinDone:
		t.Fatalf("the unfetchable pin ended on its own: %v", err)
	default:
	}
}

// A GC in the middle of a pin keeps what the pin already fetched or found locally (none of it
// is pinned yet): the pin completes with every block of its DAG.
func TestGCKeepsTheBlocksOfAnInFlightPin(t *testing.T) {
	hA, hB := newHost(t), newHost(t)
	a := newNode(t, func(c *Config) { c.Host = hA })
	b := newNode(t, noGrace, func(c *Config) { c.Host = hB })
	ctx := testCtx(t)
	if err := hB.Connect(ctx, peer.AddrInfo{ID: hA.ID(), Addrs: hA.Addrs()}); err != nil {
		t.Fatal(err)
	}
	// root -> (local, late): A serves root now and late only later; B already holds local,
	// unpinned, and some garbage.
	local := merkledag.NewRawNode(randBytes(50, 2_000))
	late := merkledag.NewRawNode(randBytes(51, 2_000))
	garbage := merkledag.NewRawNode(randBytes(52, 2_000))
	root := &merkledag.ProtoNode{}
	root.SetData([]byte("root"))
	if err := root.AddNodeLink("local", local); err != nil {
		t.Fatal(err)
	}
	if err := root.AddNodeLink("late", late); err != nil {
		t.Fatal(err)
	}
	if err := a.dag.Add(ctx, root); err != nil {
		t.Fatal(err)
	}
	for _, nd := range []*merkledag.RawNode{local, garbage} {
		if err := b.localDAG.Add(ctx, nd); err != nil {
			t.Fatal(err)
		}
	}

	var fetched atomic.Uint64
	pinDone := make(chan error, 1)
	go func() {
		pinDone <- b.Pin(ctx, api.NewCid(root.Cid()), api.PinModeRecursive, func(n uint64) { fetched.Store(n) })
	}()
	if !poll.Until(10*time.Second, time.Millisecond, func() bool { return fetched.Load() >= 2 }) {
		t.Fatalf("pin did not get root and the local block (progress %d)", fetched.Load())
	}
	removed := gcWithin(t, b, 5*time.Second)
	if !wasRemoved(removed, api.NewCid(garbage.Cid())) || len(removed) != 1 {
		t.Fatalf("GC removed %v, want only the garbage block %s", removed, garbage.Cid())
	}
	if err := a.dag.Add(ctx, late); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-pinDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pin did not complete once the last block was served")
	}
	for _, c := range []api.Cid{api.NewCid(root.Cid()), api.NewCid(local.Cid()), api.NewCid(late.Cid())} {
		if !hasBlock(t, b, c.Cid) {
			t.Fatalf("pinned DAG lacks %s after the GC", c)
		}
	}
	if removed := gcWithin(t, b, 5*time.Second); len(removed) != 0 {
		t.Fatalf("a GC after the pin removed %v", removed)
	}
}

// A GC in the middle of an add keeps the blocks the add has stored so far (its root does not
// exist yet): the add completes with a whole DAG.
func TestGCKeepsTheBlocksOfAnAddInProgress(t *testing.T) {
	n := newNode(t, noGrace)
	garbage, _ := addBytes(t, n, randBytes(60, 3_000), params(nil))
	before := countBlocks(t, n)
	data := randBytes(61, 400_000)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(errors.New("test ended")) }) // before the node closes
	type result struct {
		c   api.Cid
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := n.Add(testCtx(t), files.NewSliceDirectory([]files.DirEntry{files.FileEntry("big", files.NewReaderFile(pr))}),
			params(func(p *api.AddParams) { p.Chunker = "size-1000" }), nil)
		done <- result{c, err}
	}()
	if _, err := pw.Write(data[:300_000]); err != nil {
		t.Fatal(err)
	}
	// The importer commits its buffered blocks in batches; wait until some are stored.
	if !poll.Until(10*time.Second, time.Millisecond, func() bool { return countBlocks(t, n) >= before+128 }) {
		t.Fatalf("the add stored no blocks yet (%d)", countBlocks(t, n)-before)
	}
	removed := gcWithin(t, n, 5*time.Second)
	if !wasRemoved(removed, garbage) || len(removed) != 1 {
		t.Fatalf("GC removed %d blocks (%v), want only the earlier unpinned add %s", len(removed), removed, garbage)
	}
	if _, err := pw.Write(data[300_000:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := readBack(t, n, r.c.Cid); string(got) != string(data) {
		t.Fatal("the add's DAG lost blocks to the GC")
	}
}
