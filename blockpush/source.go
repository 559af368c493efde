package blockpush

import (
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// Source is what a push sends: blocks by position, in order. A Spool is one (every block of
// an add); Part is a shard of one. Len and Block must be safe for concurrent use (several
// allocations read one source, each at its own pace).
type Source interface {
	Len() int
	Block(i int) (blocks.Block, error)
}

var _ Source = (*Spool)(nil)

// Entry is the CID and size of the i-th spooled block, without reading it.
func (s *Spool) Entry(i int) (cid.Cid, int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.order[i]
	return e.c, e.n
}

// Part is a slice of a spool (blocks from..to, read from its file) followed by extra blocks
// held in memory (a shard's node): what a sharded add pushes to one shard's allocations.
type Part struct {
	sp       *Spool
	from, to int
	extra    []blocks.Block
}

// Part returns the source of spooled blocks [from, to) then extra.
func (s *Spool) Part(from, to int, extra ...blocks.Block) (*Part, error) {
	if from < 0 || to < from || to > s.Len() {
		return nil, fmt.Errorf("add: spool part [%d, %d) out of %d blocks", from, to, s.Len())
	}
	return &Part{sp: s, from: from, to: to, extra: extra}, nil
}

// Len is the number of blocks of the part.
func (p *Part) Len() int { return p.to - p.from + len(p.extra) }

// Block returns the i-th block of the part.
func (p *Part) Block(i int) (blocks.Block, error) {
	if n := p.to - p.from; i >= n {
		return p.extra[i-n], nil
	}
	return p.sp.Block(p.from + i)
}

// Blocks is a source of blocks held in memory (a cluster-DAG node).
type Blocks []blocks.Block

// Len is the number of blocks.
func (b Blocks) Len() int { return len(b) }

// Block returns the i-th block.
func (b Blocks) Block(i int) (blocks.Block, error) { return b[i], nil }

// Position is where a block with c's multihash is in the spool's order.
func (s *Spool) Position(c cid.Cid) (int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.index[string(c.Hash())]
	return i, ok
}
