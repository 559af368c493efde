package blockpush

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// memPutter is an in-memory BlockPutter that can be told to fail after n puts.
type memPutter struct {
	mu      sync.Mutex
	blocks  map[string][]byte
	puts    int
	failAt  int // fail the failAt-th PutBlocks call (1-based); 0 never
	batches []int
}

func newMemPutter() *memPutter { return &memPutter{blocks: map[string][]byte{}} }

func (m *memPutter) PutBlocks(_ context.Context, _ cid.Cid, bs []blocks.Block) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	if m.failAt > 0 && m.puts >= m.failAt {
		return errors.New("disk full")
	}
	m.batches = append(m.batches, len(bs))
	for _, b := range bs {
		m.blocks[string(b.Cid().Hash())] = b.RawData()
	}
	return nil
}

func (m *memPutter) HasBlock(_ context.Context, c cid.Cid) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.blocks[string(c.Hash())]
	return ok, nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func connect(t *testing.T, a, b host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// spoolOf chunks size random bytes into a spool (1 KiB chunks: many blocks).
func spoolOf(t *testing.T, size int) (*Spool, api.Cid) {
	t.Helper()
	sp, err := NewSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	data := make([]byte, size)
	rand.Read(data)
	dir := files.NewMapDirectory(map[string]files.Node{"f": files.NewBytesFile(data)})
	root, err := sp.ImportFiles(context.Background(), dir, api.AddParams{Chunker: "size-1024"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sp, root
}

func allTrusted(peer.ID) error { return nil }

func TestPushStoresEveryBlockAndVerifies(t *testing.T) {
	sender, receiver := newHost(t), newHost(t)
	connect(t, sender, receiver)
	store := newMemPutter()
	srv := NewServer(receiver, store, allTrusted, quiet())
	t.Cleanup(srv.Close)
	sp, root := spoolOf(t, 600<<10) // ~600 blocks: several windows
	p := NewPusher(sender, nil, t.TempDir(), quiet())
	var last Progress
	if err := p.Push(context.Background(), receiver.ID(), sp, root.Cid, func(pr Progress) { last = pr }); err != nil {
		t.Fatal(err)
	}
	if last.Blocks != sp.Len() || last.Total != sp.Len() || last.Bytes != sp.Bytes() {
		t.Fatalf("last progress %+v, spool has %d blocks, %d bytes", last, sp.Len(), sp.Bytes())
	}
	for i := 0; i < sp.Len(); i++ {
		b, _ := sp.Block(i)
		if got := store.blocks[string(b.Cid().Hash())]; !bytes.Equal(got, b.RawData()) {
			t.Fatalf("block %d (%s) missing or different on the receiver", i, b.Cid())
		}
	}
	for _, n := range store.batches {
		if n > ackBlocks {
			t.Fatalf("a batch of %d blocks: over %d", n, ackBlocks)
		}
	}
}

func TestPushRefusedByUntrustedReceiver(t *testing.T) {
	sender, receiver := newHost(t), newHost(t)
	connect(t, sender, receiver)
	store := newMemPutter()
	srv := NewServer(receiver, store, func(peer.ID) error { return errors.New("not in consensus.crdt.trusted_peers") }, quiet())
	t.Cleanup(srv.Close)
	sp, root := spoolOf(t, 10<<10)
	err := NewPusher(sender, nil, "", quiet()).Push(context.Background(), receiver.ID(), sp, root.Cid, nil)
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "trusted_peers") || !strings.Contains(err.Error(), receiver.ID().String()) {
		t.Fatalf("want a refusal naming the peer and the trust policy, got %v", err)
	}
	if len(store.blocks) != 0 {
		t.Fatalf("an untrusted push stored %d blocks", len(store.blocks))
	}
}

func TestPushFailsWhenReceiverCannotStore(t *testing.T) {
	sender, receiver := newHost(t), newHost(t)
	connect(t, sender, receiver)
	store := newMemPutter()
	store.failAt = 3
	srv := NewServer(receiver, store, allTrusted, quiet())
	t.Cleanup(srv.Close)
	sp, root := spoolOf(t, 300<<10)
	err := NewPusher(sender, nil, "", quiet()).Push(context.Background(), receiver.ID(), sp, root.Cid, nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("want the receiver's storage error, got %v", err)
	}
}

func TestPushToUnreachablePeer(t *testing.T) {
	sender, gone := newHost(t), newHost(t)
	connect(t, sender, gone)
	gone.Close()
	sp, root := spoolOf(t, 4<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := NewPusher(sender, nil, "", quiet()).Push(ctx, gone.ID(), sp, root.Cid, nil)
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), gone.ID().String()) {
		t.Fatalf("want an unavailable error naming the peer, got %v", err)
	}
}

func TestPushLocal(t *testing.T) {
	h := newHost(t)
	store := newMemPutter()
	sp, root := spoolOf(t, 100<<10)
	if err := NewPusher(h, store, "", quiet()).Push(context.Background(), h.ID(), sp, root.Cid, nil); err != nil {
		t.Fatal(err)
	}
	if len(store.blocks) != sp.Len() {
		t.Fatalf("stored %d of %d blocks", len(store.blocks), sp.Len())
	}
}

func TestSpoolDedupesAndReadsBack(t *testing.T) {
	sp, err := NewSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	b := blocks.NewBlock([]byte("hello"))
	for range 3 {
		if err := sp.Put(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if sp.Len() != 1 || sp.Bytes() != 5 {
		t.Fatalf("len %d bytes %d, want 1 and 5", sp.Len(), sp.Bytes())
	}
	got, err := sp.Get(context.Background(), b.Cid())
	if err != nil || !bytes.Equal(got.RawData(), b.RawData()) {
		t.Fatalf("Get: %v %q", err, got)
	}
}
