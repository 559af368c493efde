package embedded

import (
	"context"
	"errors"
	"github.com/pincluster/pincluster/internal/poll"
	"strings"
	"testing"
	"time"

	format "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

func pinLs(t *testing.T, n *Node) map[string]api.PinMode {
	t.Helper()
	got := map[string]api.PinMode{}
	if err := n.PinLs(testCtx(t), func(c api.Cid, m api.PinMode) error {
		got[c.String()] = m
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func mustPinned(t *testing.T, n *Node, c api.Cid, wantPinned bool, wantMode api.PinMode) {
	t.Helper()
	pinned, mode, err := n.IsPinned(testCtx(t), c)
	if err != nil || pinned != wantPinned || (pinned && mode != wantMode) {
		t.Fatalf("IsPinned(%s) = %v %v %v, want %v %v", c, pinned, mode, err, wantPinned, wantMode)
	}
}

func TestPinUnpin(t *testing.T) {
	n := newNode(t)
	ctx := testCtx(t)
	big, _ := addBytes(t, n, randBytes(3, 50_000), params(func(p *api.AddParams) { p.Chunker = "size-1000" }))
	small, _ := addBytes(t, n, []byte("small"), params(nil))

	var calls, last uint64
	if err := n.Pin(ctx, big, api.PinModeRecursive, func(b uint64) { calls++; last = b }); err != nil {
		t.Fatal(err)
	}
	if calls != 51 || last != 51 { // 50 leaves + root
		t.Fatalf("progress called %d times, last %d; want 51", calls, last)
	}
	mustPinned(t, n, big, true, api.PinModeRecursive)

	// Already pinned: immediate success, no walk.
	calls = 0
	if err := n.Pin(ctx, big, api.PinModeRecursive, func(uint64) { calls++ }); err != nil || calls != 0 {
		t.Fatalf("re-pin: %v, %d progress calls", err, calls)
	}
	// Direct pin of a recursive pin: already covered.
	if err := n.Pin(ctx, big, api.PinModeDirect, nil); err != nil {
		t.Fatal(err)
	}
	mustPinned(t, n, big, true, api.PinModeRecursive)

	if err := n.Pin(ctx, small, api.PinModeDirect, nil); err != nil {
		t.Fatal(err)
	}
	mustPinned(t, n, small, true, api.PinModeDirect)
	if got := pinLs(t, n); len(got) != 2 || got[big.String()] != api.PinModeRecursive || got[small.String()] != api.PinModeDirect {
		t.Fatalf("PinLs = %v", got)
	}

	// Upgrade direct to recursive.
	if err := n.Pin(ctx, small, api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	mustPinned(t, n, small, true, api.PinModeRecursive)
	if got := pinLs(t, n); len(got) != 2 || got[small.String()] != api.PinModeRecursive {
		t.Fatalf("PinLs after upgrade = %v", got)
	}

	if err := n.Unpin(ctx, big); err != nil {
		t.Fatal(err)
	}
	mustPinned(t, n, big, false, 0)
	if err := n.Unpin(ctx, big); !errors.Is(err, ipfs.ErrNotPinned) {
		t.Fatalf("second Unpin: %v, want ErrNotPinned", err)
	}

	// PinLs stops at fn's first error.
	stop := errors.New("stop")
	if err := n.PinLs(ctx, func(api.Cid, api.PinMode) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("PinLs err = %v", err)
	}
}

func TestPinMissingOffline(t *testing.T) {
	n := newNode(t)
	missing := mustCid(t, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
	for _, mode := range []api.PinMode{api.PinModeRecursive, api.PinModeDirect} {
		start := time.Now()
		err := n.Pin(testCtx(t), missing, mode, nil)
		if err == nil || !strings.Contains(err.Error(), "not found locally (offline node") {
			t.Fatalf("mode %v: err = %v", mode, err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("offline pin took %v", time.Since(start))
		}
	}
	mustPinned(t, n, missing, false, 0)

	// A DAG with a missing leaf fails too, naming the block.
	root, _ := addBytes(t, n, randBytes(4, 5000), params(func(p *api.AddParams) { p.Chunker = "size-1000" }))
	links, err := format.GetLinks(testCtx(t), n.localDAG, root.Cid)
	if err != nil || len(links) != 5 {
		t.Fatalf("links %v %v", links, err)
	}
	if err := n.bstore.DeleteBlock(testCtx(t), links[3].Cid); err != nil {
		t.Fatal(err)
	}
	err = n.Pin(testCtx(t), root, api.PinModeRecursive, nil)
	if err == nil || !strings.Contains(err.Error(), links[3].Cid.String()) || !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("pin with a missing leaf: %v", err)
	}
	mustPinned(t, n, root, false, 0)
	// The root block is there: a direct pin works.
	if err := n.Pin(testCtx(t), root, api.PinModeDirect, nil); err != nil {
		t.Fatal(err)
	}
}

func TestPinWithHostNoPeersWaitsForDeadline(t *testing.T) {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	n := newNode(t, func(c *Config) { c.Host = h })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = n.Pin(ctx, mustCid(t, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"), api.PinModeRecursive, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	id, err := n.ID(testCtx(t))
	if err != nil || id.ID != h.ID().String() || len(id.Addresses) == 0 {
		t.Fatalf("ID = %+v, %v", id, err)
	}
}

func TestReopenKeepsPinsAndBlocks(t *testing.T) {
	dir := t.TempDir()
	n, err := New(context.Background(), Config{Dir: dir, SyncWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(5, 20_000)
	root, _ := addBytes(t, n, data, params(func(p *api.AddParams) { p.Chunker = "size-4096" }))
	if err := n.Pin(testCtx(t), root, api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	id1, _ := n.ID(testCtx(t))
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := n.IsPinned(testCtx(t), root); !errors.Is(err, ipfs.ErrClosed) {
		t.Fatalf("IsPinned after Close: %v, want ErrClosed", err)
	}
	if _, err := n.Add(testCtx(t), fileDir("f", []byte("x")), params(nil), nil); !errors.Is(err, ipfs.ErrClosed) {
		t.Fatalf("Add after Close: %v, want ErrClosed", err)
	}

	n2, err := New(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	mustPinned(t, n2, root, true, api.PinModeRecursive)
	if got := readBack(t, n2, root.Cid); string(got) != string(data) {
		t.Fatal("content lost across reopen")
	}
	if id2, _ := n2.ID(testCtx(t)); id2.ID != id1.ID || id1.ID == "" {
		t.Fatalf("offline ID changed: %q -> %q", id1.ID, id2.ID)
	}
}

// Close cancels an in-flight Pin (waiting on bitswap) and returns.
func TestCloseCancelsInFlightPin(t *testing.T) {
	n, err := New(context.Background(), Config{Dir: t.TempDir(), Host: newHost(t)})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		close(started)
		result <- n.Pin(context.Background(), mustCid(t, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"), api.PinModeRecursive, nil)
	}()
	<-started
	// Wait until the Pin is admitted (it is an operation in progress while fetching).
	admitted := poll.Until(5*time.Second, time.Millisecond, func() bool {
		return n.guard.inProgress() > 0
	})
	if !admitted {
		t.Fatal("pin never started")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-result:
		if err == nil {
			t.Fatal("pin succeeded after Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Pin did not return after Close")
	}
}
