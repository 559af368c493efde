package blockpush

import (
	"context"
	"errors"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
)

// TestPushPartSendsItsBlocksAndExtras: a Part pushes its slice of the spool, then the extras.
func TestPushPartSendsItsBlocksAndExtras(t *testing.T) {
	h := newHost(t)
	store := newMemPutter()
	sp, root := spoolOf(t, 100<<10)
	node := blocks.NewBlock([]byte("shard node"))
	part, err := sp.Part(1, 3, node)
	if err != nil {
		t.Fatal(err)
	}
	if part.Len() != 3 {
		t.Fatalf("part of 2 blocks and 1 extra has Len %d", part.Len())
	}
	if err := NewPusher(h, store, "", quiet()).Push(context.Background(), h.ID(), part, root.Cid, nil); err != nil {
		t.Fatal(err)
	}
	if len(store.blocks) != 3 {
		t.Fatalf("stored %d blocks, want 3", len(store.blocks))
	}
	for i := 1; i < 3; i++ {
		c, _ := sp.Entry(i)
		if _, ok := store.blocks[string(c.Hash())]; !ok {
			t.Fatalf("block %d of the part was not pushed", i)
		}
	}
	if _, err := sp.Part(2, sp.Len()+1); err == nil {
		t.Fatal("a part past the spool's end was made")
	}
}

// TestPushWaitsForASlot: past MaxPushes running, a push waits (bounded by its context).
func TestPushWaitsForASlot(t *testing.T) {
	h := newHost(t)
	store := newMemPutter()
	p := NewPusher(h, store, "", quiet())
	for range MaxPushes {
		p.slots <- struct{}{}
	}
	b := blocks.NewBlock([]byte("waits"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Push(ctx, h.ID(), Blocks{b}, b.Cid(), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with every slot taken, err = %v, want the context's deadline", err)
	}
	if len(store.blocks) != 0 {
		t.Fatal("a push without a slot stored blocks")
	}
	<-p.slots
	if err := p.Push(context.Background(), h.ID(), Blocks{b}, b.Cid(), nil); err != nil {
		t.Fatal(err)
	}
}
