package embedded

import (
	"context"
	"sync"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// gcGuard keeps GC from collecting the blocks of operations in progress (Add, ImportCAR, Pin)
// without either side waiting for the other (see the package doc for the reasoning).
//
// Every operation admitted by Node.begin is a gcOp carried in its context; the guarded
// blockstore records in it each block the operation reads, checks or writes, before the
// access. A GC run captures the operations live when it starts and those that start while it
// runs, and deletes a block only if none of them has recorded it and nobody wrote it during
// the run; the check and the delete happen under the guard's mutex, so an access recorded
// before the check keeps its block, and one recorded after it finds the block gone (a read
// fetches it again or fails like any missing block; a write stores it again). Blocks that
// ended operations leave behind are protected by the pin they recorded or by the add grace.
type gcGuard struct {
	mu   sync.Mutex
	live map[*gcOp]struct{}
	run  *gcRun // the collection in progress, nil when none
}

// gcOp is one operation's record of the blocks (multihashes) it used. keys is guarded by the
// gcGuard's mu.
type gcOp struct {
	g    *gcGuard
	keys map[string]struct{}
}

// gcRun is one collection: the operations it must respect and the blocks written during it.
type gcRun struct {
	ops     []*gcOp
	written map[string]struct{}
}

type gcOpKey struct{}

// begin registers an operation and returns ctx carrying it, and the func that ends it.
func (g *gcGuard) begin(ctx context.Context) (context.Context, func()) {
	op := &gcOp{g: g}
	g.mu.Lock()
	if g.live == nil {
		g.live = map[*gcOp]struct{}{}
	}
	g.live[op] = struct{}{}
	if g.run != nil {
		g.run.ops = append(g.run.ops, op)
	}
	g.mu.Unlock()
	return context.WithValue(ctx, gcOpKey{}, op), func() {
		g.mu.Lock()
		delete(g.live, op) // a run that captured op keeps its keys until the run ends
		g.mu.Unlock()
	}
}

// inProgress is the number of operations live now.
func (g *gcGuard) inProgress() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.live)
}

// use records that the operation in ctx (if any) is about to access c; a write (written) with
// no operation still counts for the run in progress.
func (g *gcGuard) use(ctx context.Context, c cid.Cid, written bool) {
	op, _ := ctx.Value(gcOpKey{}).(*gcOp)
	if op == nil && !written {
		return
	}
	k := string(c.Hash())
	g.mu.Lock()
	defer g.mu.Unlock()
	if op != nil {
		if op.keys == nil {
			op.keys = map[string]struct{}{}
		}
		op.keys[k] = struct{}{}
	}
	if written && g.run != nil {
		g.run.written[k] = struct{}{}
	}
}

// startRun begins a collection (runs are serialised by the caller) and returns how many
// operations it must respect so far.
func (g *gcGuard) startRun() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := &gcRun{written: map[string]struct{}{}}
	for op := range g.live {
		r.ops = append(r.ops, op)
	}
	g.run = r
	return len(r.ops)
}

func (g *gcGuard) endRun() {
	g.mu.Lock()
	g.run = nil
	g.mu.Unlock()
}

// deleteUnused calls del for c unless an operation of the run in progress used c or it was
// written during the run; it reports whether del ran. del runs under the guard's mutex.
func (g *gcGuard) deleteUnused(c cid.Cid, del func() error) (bool, error) {
	k := string(c.Hash())
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.run; r != nil {
		if _, ok := r.written[k]; ok {
			return false, nil
		}
		for _, op := range r.ops {
			if _, ok := op.keys[k]; ok {
				return false, nil
			}
		}
	}
	return true, del()
}

// guardedBlockstore records every block access in the gcGuard before making it. DeleteBlock
// is not guarded: only GC deletes, through gcGuard.deleteUnused.
type guardedBlockstore struct {
	blockstore.Blockstore
	g *gcGuard
}

var _ blockstore.Blockstore = (*guardedBlockstore)(nil)

func (b *guardedBlockstore) Has(ctx context.Context, c cid.Cid) (bool, error) {
	b.g.use(ctx, c, false)
	return b.Blockstore.Has(ctx, c)
}

func (b *guardedBlockstore) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	b.g.use(ctx, c, false)
	return b.Blockstore.Get(ctx, c)
}

func (b *guardedBlockstore) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	b.g.use(ctx, c, false)
	return b.Blockstore.GetSize(ctx, c)
}

func (b *guardedBlockstore) Put(ctx context.Context, blk blocks.Block) error {
	b.g.use(ctx, blk.Cid(), true)
	return b.Blockstore.Put(ctx, blk)
}

func (b *guardedBlockstore) PutMany(ctx context.Context, blks []blocks.Block) error {
	for _, blk := range blks {
		b.g.use(ctx, blk.Cid(), true)
	}
	return b.Blockstore.PutMany(ctx, blks)
}
