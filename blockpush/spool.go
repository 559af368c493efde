package blockpush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/ipfs/embedded"
)

// Spool is the receiving peer's temporary blockstore for one add: the input is chunked into it
// once (an append-only file in a temporary directory, indexed in memory: about 100 bytes per
// block, 4096 blocks for 1 GiB), and every sender reads the blocks from it in the order they
// were written, each at its own pace, so a replacement allocation can start from the first
// block. Nothing of it reaches this peer's IPFS node unless this peer is allocated. Close
// removes the file. Put is for one writer; Block, Len and Root are safe for concurrent use
// once the import has returned.
type Spool struct {
	f *os.File

	mu    sync.RWMutex
	index map[string]int // multihash -> position in order
	order []spooled
	end   int64
	bytes uint64
}

type spooled struct {
	c   cid.Cid
	off int64
	n   int
}

var _ blockstore.Blockstore = (*Spool)(nil)

// NewSpool makes an empty spool in dir (the system's temporary directory when empty).
func NewSpool(dir string) (*Spool, error) {
	f, err := os.CreateTemp(dir, "pincluster-add-*.spool")
	if err != nil {
		return nil, fmt.Errorf("add: temporary block spool: %w", err)
	}
	return &Spool{f: f, index: map[string]int{}}, nil
}

// ImportFiles chunks dir into the spool as the IPFS node's add would (same CIDs) and returns
// the root.
func (s *Spool) ImportFiles(ctx context.Context, dir files.Directory, params api.AddParams, out ipfs.AddOutput) (api.Cid, error) {
	dag := merkledag.NewDAGService(blockservice.New(s, nil))
	return embedded.ImportFiles(ctx, dag, dir, params, out)
}

// ImportCAR reads a CAR into the spool (every block verified) and returns its single root.
func (s *Spool) ImportCAR(ctx context.Context, r io.Reader) (api.Cid, error) {
	return embedded.ReadCAR(ctx, r, func(b blocks.Block) error { return s.Put(ctx, b) })
}

// Len is the number of distinct blocks spooled; Bytes their total size.
func (s *Spool) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.order)
}

// Bytes is the total size of the spooled blocks.
func (s *Spool) Bytes() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bytes
}

// Block returns the i-th block spooled (0 <= i < Len()).
func (s *Spool) Block(i int) (blocks.Block, error) {
	s.mu.RLock()
	e := s.order[i]
	s.mu.RUnlock()
	return s.read(e)
}

func (s *Spool) read(e spooled) (blocks.Block, error) {
	buf := make([]byte, e.n)
	if _, err := s.f.ReadAt(buf, e.off); err != nil {
		return nil, fmt.Errorf("add: reading the block spool: %w", err)
	}
	return blocks.NewBlockWithCid(buf, e.c)
}

// Close removes the spool's file.
func (s *Spool) Close() error {
	name := s.f.Name()
	err := s.f.Close()
	return errors.Join(err, os.Remove(name))
}

// Put appends b unless a block with its multihash is spooled already.
func (s *Spool) Put(_ context.Context, b blocks.Block) error {
	k := string(b.Cid().Hash())
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.index[k]; ok {
		return nil
	}
	data := b.RawData()
	if _, err := s.f.WriteAt(data, s.end); err != nil {
		return fmt.Errorf("add: writing the block spool: %w", err)
	}
	s.index[k] = len(s.order)
	s.order = append(s.order, spooled{c: b.Cid(), off: s.end, n: len(data)})
	s.end += int64(len(data))
	s.bytes += uint64(len(data))
	return nil
}

// PutMany appends each block (blockstore.Blockstore).
func (s *Spool) PutMany(ctx context.Context, bs []blocks.Block) error {
	for _, b := range bs {
		if err := s.Put(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *Spool) lookup(c cid.Cid) (spooled, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.index[string(c.Hash())]
	if !ok {
		return spooled{}, false
	}
	return s.order[i], true
}

// Has reports whether a block with c's multihash is spooled.
func (s *Spool) Has(_ context.Context, c cid.Cid) (bool, error) {
	_, ok := s.lookup(c)
	return ok, nil
}

// Get reads a spooled block back (the importer reads directories it builds).
func (s *Spool) Get(_ context.Context, c cid.Cid) (blocks.Block, error) {
	e, ok := s.lookup(c)
	if !ok {
		return nil, format.ErrNotFound{Cid: c}
	}
	b, err := s.read(e)
	if err != nil {
		return nil, err
	}
	return blocks.NewBlockWithCid(b.RawData(), c)
}

// GetSize is the size of a spooled block.
func (s *Spool) GetSize(_ context.Context, c cid.Cid) (int, error) {
	e, ok := s.lookup(c)
	if !ok {
		return -1, format.ErrNotFound{Cid: c}
	}
	return e.n, nil
}

// DeleteBlock is not supported: a spool only grows during its add.
func (s *Spool) DeleteBlock(context.Context, cid.Cid) error {
	return errors.New("add: the block spool does not delete blocks")
}

// AllKeysChan lists the spooled CIDs.
func (s *Spool) AllKeysChan(ctx context.Context) (<-chan cid.Cid, error) {
	s.mu.RLock()
	keys := make([]cid.Cid, len(s.order))
	for i, e := range s.order {
		keys[i] = e.c
	}
	s.mu.RUnlock()
	ch := make(chan cid.Cid, len(keys))
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	return ch, nil
}
