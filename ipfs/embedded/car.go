package embedded

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ipfs/boxo/verifcid"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	car "github.com/ipld/go-car/v2"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// carMemLimit is how many block bytes ImportCAR stages in memory before spilling to a temp file
// (a variable so tests can lower it).
var carMemLimit = 32 << 20

// putBatchBytes bounds one blockstore batch when committing staged blocks.
const putBatchBytes = 8 << 20

// ImportCAR reads a CARv1 or CARv2 stream, verifies every block against its CID and, only when
// the whole stream is clean, stores the blocks. The root stays protected from GC for
// Config.AddGrace so the caller can pin it.
func (n *Node) ImportCAR(ctx context.Context, r io.Reader) (api.Cid, error) {
	roots, err := n.importCAR(ctx, r, true)
	if err != nil {
		return api.CidUndef, err
	}
	return roots[0], nil
}

// ImportCARRoots is ImportCAR for a CAR with any number of roots, which it need not carry (they
// may come in another CAR of the same import: Kubo's dag import). Every root it lists stays
// protected from GC for Config.AddGrace (ProtectRoots renews that).
func (n *Node) ImportCARRoots(ctx context.Context, r io.Reader) ([]api.Cid, error) {
	return n.importCAR(ctx, r, false)
}

// ProtectRoots protects roots from GC for Config.AddGrace from now, as an import does: the
// proxy's dag import renews the protection of every CAR's roots once the last CAR is in, so a
// long upload's first roots do not expire before they are pinned.
func (n *Node) ProtectRoots(roots []api.Cid) {
	for _, r := range roots {
		n.recent.add(r.Cid)
	}
}

func (n *Node) importCAR(ctx context.Context, r io.Reader, one bool) ([]api.Cid, error) {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()

	st := &stager{dir: n.cfg.Dir}
	defer st.close()
	roots, err := readCAR(ctx, r, st.add, one)
	if err != nil {
		return nil, err
	}

	if err := st.commit(ctx, func(bs []blocks.Block) error { return n.bserv.AddBlocks(ctx, bs) }); err != nil {
		return nil, fmt.Errorf("import CAR: store blocks: %w", err)
	}
	out := make([]api.Cid, len(roots))
	for i, root := range roots {
		// Every listed root, carried or not: another CAR of the same import may carry it (the
		// GC walk skips what is missing).
		n.recent.add(root)
		out[i] = api.NewCid(root)
	}
	n.stats.invalidate()
	return out, nil
}

// readCAR decodes a CAR stream, hands each verified block to put and returns the roots. With
// one, the CAR must have exactly one root and carry it. Every decoding problem is an error
// wrapping ipfs.ErrBadCAR.
func readCAR(ctx context.Context, r io.Reader, put func(blocks.Block) error, one bool) ([]cid.Cid, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ipfs.ErrBadCAR}, a...)...)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	// A CARv2 whose payload is cut at a section boundary looks complete to the block reader:
	// read its header to check the payload length ourselves.
	var wantBytes uint64
	if p, _ := br.Peek(car.PragmaSize + car.HeaderSize); len(p) == car.PragmaSize+car.HeaderSize &&
		bytes.Equal(p[:car.PragmaSize], car.Pragma) {
		var h car.Header
		if _, err := h.ReadFrom(bytes.NewReader(p[car.PragmaSize:])); err == nil {
			wantBytes = h.DataOffset + h.DataSize
		}
	}
	cr := &countingReader{r: br}
	rd, err := car.NewBlockReader(cr)
	if err != nil {
		return nil, bad("not a CAR stream: %v", err)
	}
	if one && len(rd.Roots) != 1 {
		return nil, bad("CAR has %d roots; exactly one is required", len(rd.Roots))
	}
	roots := rd.Roots
	for _, root := range roots {
		if err := verifcid.ValidateCid(verifcid.DefaultAllowlist, root); err != nil {
			return nil, bad("root %s: %v", root, err)
		}
	}
	// With one, the root must be carried. An identity-hash root carries its data in the CID
	// itself, so no block is needed.
	hasRoot := !one || roots[0].Prefix().MhType == mh.IDENTITY
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, bad("truncated after %d blocks", i)
			}
			return nil, bad("block %d: %v", i, err)
		}
		if err := verifcid.ValidateCid(verifcid.DefaultAllowlist, b.Cid()); err != nil {
			return nil, bad("block %d (%s): %v", i, b.Cid(), err)
		}
		if err := put(b); err != nil {
			return nil, fmt.Errorf("import CAR: stage block %d: %w", i, err)
		}
		// Compared by multihash, as the blockstore keys blocks: a root given as CIDv1 of a
		// block written as CIDv0 is the same block.
		hasRoot = hasRoot || bytes.Equal(b.Cid().Hash(), roots[0].Hash())
	}
	if wantBytes > 0 && cr.n < wantBytes {
		return nil, bad("truncated CARv2: read %d of %d bytes", cr.n, wantBytes)
	}
	// Without its root block the pin could never complete (it would wait in pinning for a block
	// nobody announced), so a CAR must carry its root.
	if !hasRoot {
		return nil, bad("the root block %s is not in the CAR (a CAR must contain its root)", roots[0])
	}
	return roots, nil
}

type countingReader struct {
	r io.Reader
	n uint64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += uint64(n)
	return n, err
}

// stager holds blocks until the CAR has been read completely: in memory up to carMemLimit, then
// in a temp file under dir.
type stager struct {
	dir      string
	mem      []blocks.Block
	memBytes int
	file     *os.File
	w        *bufio.Writer
}

func (s *stager) add(b blocks.Block) error {
	if s.file == nil && s.memBytes+len(b.RawData()) <= carMemLimit {
		s.mem = append(s.mem, b)
		s.memBytes += len(b.RawData())
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "car-import-*.tmp")
		if err != nil {
			return fmt.Errorf("spill to disk: %w", err)
		}
		s.file, s.w = f, bufio.NewWriterSize(f, 1<<20)
		for _, m := range s.mem {
			if err := s.spill(m); err != nil {
				return err
			}
		}
		s.mem, s.memBytes = nil, 0
	}
	return s.spill(b)
}

func (s *stager) spill(b blocks.Block) error {
	var hdr [2 * binary.MaxVarintLen64]byte
	c := b.Cid().Bytes()
	k := binary.PutUvarint(hdr[:], uint64(len(c)))
	k += binary.PutUvarint(hdr[k:], uint64(len(b.RawData())))
	for _, part := range [][]byte{hdr[:k], c, b.RawData()} {
		if _, err := s.w.Write(part); err != nil {
			return fmt.Errorf("spill to disk: %w", err)
		}
	}
	return nil
}

// commit hands the staged blocks to put in batches of about putBatchBytes.
func (s *stager) commit(ctx context.Context, put func([]blocks.Block) error) error {
	var batch []blocks.Block
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		err := put(batch)
		batch, size = nil, 0
		return err
	}
	push := func(b blocks.Block) error {
		batch = append(batch, b)
		size += len(b.RawData())
		if size >= putBatchBytes {
			return flush()
		}
		return nil
	}
	for _, b := range s.mem {
		if err := push(b); err != nil {
			return err
		}
	}
	if s.file != nil {
		if err := s.w.Flush(); err != nil {
			return err
		}
		if _, err := s.file.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r := bufio.NewReaderSize(s.file, 1<<20)
		for {
			b, err := readSpilled(r)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("read spilled blocks: %w", err)
			}
			if err := push(b); err != nil {
				return err
			}
		}
	}
	return flush()
}

func readSpilled(r *bufio.Reader) (blocks.Block, error) {
	cl, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	dl, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, cl+dl)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	c, err := cid.Cast(buf[:cl])
	if err != nil {
		return nil, err
	}
	return blocks.NewBlockWithCid(buf[cl:], c)
}

func (s *stager) close() {
	s.mem = nil
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}
