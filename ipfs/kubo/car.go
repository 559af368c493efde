package kubo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"sync"

	car "github.com/ipld/go-car/v2"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// ImportCAR checks the CAR's header (exactly one root) and that it carries its root block, then
// streams it to dag/import (pin-roots=false). Kubo verifies every block; a CAR it rejects, or
// one that cannot be read, is an error wrapping ipfs.ErrBadCAR.
//
// The root block is looked for before Kubo sees a byte, so a CAR without it stores nothing:
// the blocks read until the root turns up are held here (see scanCAR). The root usually comes
// first (ipfs dag export and most tools write it first), so usually nothing is held.
func (n *Node) ImportCAR(ctx context.Context, r io.Reader) (api.Cid, error) {
	roots, err := n.importCAR(ctx, r, true)
	if err != nil {
		return api.CidUndef, err
	}
	return roots[0], nil
}

// ImportCARRoots is ImportCAR for a CAR with any number of roots, which it need not carry (they
// may come in another CAR of the same import: Kubo's dag import). Only the header is read
// before Kubo sees the CAR.
func (n *Node) ImportCARRoots(ctx context.Context, r io.Reader) ([]api.Cid, error) {
	return n.importCAR(ctx, r, false)
}

func (n *Node) importCAR(ctx context.Context, r io.Reader, one bool) ([]api.Cid, error) {
	ctx, done, err := n.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer done()
	in := &inputReader{r: r}
	scan, err := scanCAR(ctx, in, one)
	if err != nil {
		return nil, err
	}
	defer scan.held.Close()
	stream, err := scan.stream()
	if err != nil {
		return nil, fmt.Errorf("import CAR: %w", err)
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	badStream := make(chan error, 1)
	go func() {
		part, err := mw.CreateFormFile("file", "import.car")
		if err == nil {
			var k int64
			k, err = io.Copy(part, stream)
			if err == nil && uint64(k) < scan.wantBytes {
				err = fmt.Errorf("%w: truncated CARv2: read %d of %d bytes", ipfs.ErrBadCAR, k, scan.wantBytes)
				badStream <- err
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	q := url.Values{"pin-roots": {"false"}, "stats": {"true"}}
	req := request{cmd: "dag/import", query: q, body: pr, contentType: mw.FormDataContentType()}
	err = n.call(ctx, req, drain)
	select {
	case bad := <-badStream:
		return nil, bad
	default:
	}
	if err != nil {
		// An input that broke off explains the failure better than whatever Kubo made of it.
		if inErr := in.failure(); inErr != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: reading the CAR: %v", ipfs.ErrBadCAR, inErr)
		}
		var ke *Error
		if errors.As(err, &ke) && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: %w", ipfs.ErrBadCAR, err)
		}
		return nil, fmt.Errorf("import CAR: %w", err)
	}
	return scan.roots, nil
}

// carScan is what scanCAR learnt of a CAR and how to replay it.
type carScan struct {
	roots []api.Cid
	// wantBytes is the length a CARv2 says it has (0 for a CARv1): one cut at a section
	// boundary looks complete to Kubo.
	wantBytes uint64
	held      *spillBuffer // every byte read from the input so far
	rest      io.Reader    // the input, from where the scan stopped
}

// stream replays the whole CAR: the held bytes, then the rest of the input.
func (s *carScan) stream() (io.Reader, error) {
	h, err := s.held.Reader()
	if err != nil {
		return nil, err
	}
	return io.MultiReader(h, s.rest), nil
}

// scanCAR reads the CAR header (v1, or v2 and its inner v1 header) and, with one, checks that it
// has exactly one root and then reads blocks until it has seen the root block, holding every
// byte it reads. Blocks are compared by multihash, as Kubo's
// blockstore keys them (a CIDv1 root names the block a CAR lists as CIDv0); an identity root
// carries its data in the CID and needs no block. A CAR that ends, breaks off or is malformed
// before its root block is an error wrapping ipfs.ErrBadCAR, as the embedded backend reports it.
func scanCAR(ctx context.Context, in *inputReader, one bool) (*carScan, error) {
	held := &spillBuffer{limit: holdMemLimit}
	scan, err := scanCARInto(ctx, in, held, one)
	if err != nil {
		held.Close()
		// A read failure of the input, or of the hold file, is what broke the scan.
		if werr := held.writeErr(); werr != nil {
			return nil, fmt.Errorf("import CAR: %w", werr)
		}
		if inErr := in.failure(); inErr != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: reading the CAR: %v", ipfs.ErrBadCAR, inErr)
		}
		return nil, err
	}
	return scan, nil
}

func scanCARInto(ctx context.Context, r io.Reader, held *spillBuffer, one bool) (*carScan, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ipfs.ErrBadCAR}, a...)...)
	}
	br := bufio.NewReader(io.TeeReader(r, held))
	scan := &carScan{held: held, rest: r}
	if p, _ := br.Peek(car.PragmaSize + car.HeaderSize); len(p) == car.PragmaSize+car.HeaderSize &&
		bytes.Equal(p[:car.PragmaSize], car.Pragma) {
		var h car.Header
		if _, err := h.ReadFrom(bytes.NewReader(p[car.PragmaSize:])); err == nil {
			scan.wantBytes = h.DataOffset + h.DataSize
		}
	}
	rd, err := car.NewBlockReader(br)
	if err != nil {
		return nil, bad("not a CAR stream: %v", err)
	}
	for _, root := range rd.Roots {
		scan.roots = append(scan.roots, api.NewCid(root))
	}
	if !one {
		return scan, nil
	}
	if len(rd.Roots) != 1 {
		return nil, bad("CAR has %d roots; exactly one is required", len(rd.Roots))
	}
	root := rd.Roots[0]
	if root.Prefix().MhType == mh.IDENTITY {
		return scan, nil
	}
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := rd.Next()
		switch {
		case errors.Is(err, io.EOF):
			// Without its root block the pin could never complete (it would wait in pinning
			// for a block nobody announced), so a CAR must carry its root.
			return nil, bad("the root block %s is not in the CAR (a CAR must contain its root)", root)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, bad("truncated after %d blocks", i)
		case err != nil:
			return nil, bad("block %d: %v", i, err)
		}
		if bytes.Equal(b.Cid().Hash(), root.Hash()) {
			return scan, nil
		}
	}
}

// inputReader remembers the first error reading the caller's input, which tells a bad input
// apart from a failure to talk to Kubo once the HTTP client has wrapped both alike. It is read
// by the HTTP client's goroutine, hence the lock.
type inputReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (i *inputReader) Read(b []byte) (int, error) {
	n, err := i.r.Read(b)
	if err != nil && err != io.EOF {
		i.record(err)
	}
	return n, err
}

func (i *inputReader) record(err error) {
	i.mu.Lock()
	if i.err == nil {
		i.err = err
	}
	i.mu.Unlock()
}

func (i *inputReader) failure() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.err
}
