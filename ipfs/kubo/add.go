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
	"strings"

	"github.com/ipfs/boxo/files"
	car "github.com/ipld/go-car/v2"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// Add streams dir to Kubo's add as multipart (pin=false) with params' layout, chunker, raw
// leaves, CID version, hash and wrap-with-directory. Hidden (dot) entries below the top level
// are dropped here unless params.Hidden, as the embedded backend does (Kubo's own filter runs in
// its CLI, not in the daemon).
func (n *Node) Add(ctx context.Context, dir files.Directory, params api.AddParams, out ipfs.AddOutput) (api.Cid, error) {
	ctx, done, err := n.begin(ctx, false)
	if err != nil {
		return api.CidUndef, err
	}
	defer done()
	if err := params.Validate(); err != nil {
		return api.CidUndef, err
	}
	top := &topCounter{}
	body := files.NewMultiFileReader(&filterDir{Directory: dir, hidden: params.Hidden, top: top, depth: 0}, true, false)
	req := request{cmd: "add", query: addQuery(params), body: body,
		contentType: "multipart/form-data; boundary=" + body.Boundary()}
	var root api.Cid
	err = n.call(ctx, req, func(r io.Reader) (err error) {
		root, err = decodeAdd(r, out)
		return err
	})
	switch {
	case top.entries == 0:
		return api.CidUndef, fmt.Errorf("%w: nothing to add (no files in the request)", api.ErrInvalid)
	case top.entries == 1 && top.lastEmptyDir:
		return api.CidUndef, fmt.Errorf("%w: nothing to add (directory %q is empty)", api.ErrInvalid, top.lastName)
	case err != nil:
		return api.CidUndef, fmt.Errorf("add: %w", err)
	case !root.Defined():
		return api.CidUndef, errors.New("add: kubo reported no CID")
	}
	return root, nil
}

// addQuery maps the add parameters onto Kubo's options. cid-version and raw-leaves are sent only
// when set, so Kubo applies the same implied defaults as the embedded backend (CIDv1 for a
// non-sha2-256 hash, raw leaves for CIDv1).
func addQuery(p api.AddParams) url.Values {
	q := url.Values{"pin": {"false"}}
	if p.Chunker != "" {
		q.Set("chunker", p.Chunker)
	}
	if p.RawLeaves {
		q.Set("raw-leaves", "true")
	}
	if p.CidVersion == 1 {
		q.Set("cid-version", "1")
	}
	if p.HashFun != "" {
		q.Set("hash", strings.ToLower(p.HashFun))
	}
	if p.Layout == "trickle" {
		q.Set("trickle", "true")
	}
	if p.WrapWithDirectory {
		q.Set("wrap-with-directory", "true")
	}
	if p.Progress {
		q.Set("progress", "true")
	}
	return q
}

// topCounter records what the top level of an Add held, to reject empty inputs like the
// embedded backend does.
type topCounter struct {
	entries      int
	lastEmptyDir bool
	lastName     string
}

// filterDir drops hidden entries below the top level and counts the top-level entries.
type filterDir struct {
	files.Directory
	hidden bool
	top    *topCounter
	depth  int
	// entries counts the entries this directory yielded.
	entries int
}

func (d *filterDir) Entries() files.DirIterator {
	return &filterIter{DirIterator: d.Directory.Entries(), dir: d}
}

type filterIter struct {
	files.DirIterator
	dir  *filterDir
	node files.Node
	// lastDir is the top-level directory yielded last, to see if it ended up empty.
	lastDir *filterDir
}

func (it *filterIter) Next() bool {
	d := it.dir
	if d.depth == 0 && it.lastDir != nil {
		d.top.lastEmptyDir = it.lastDir.entries == 0
	}
	for it.DirIterator.Next() {
		name := it.DirIterator.Name()
		if d.depth > 0 && !d.hidden && strings.HasPrefix(name, ".") {
			it.DirIterator.Node().Close()
			continue
		}
		it.node = it.DirIterator.Node()
		d.entries++
		var sub *filterDir
		if child, ok := it.node.(files.Directory); ok {
			sub = &filterDir{Directory: child, hidden: d.hidden, top: d.top, depth: d.depth + 1}
			it.node = sub
		}
		if d.depth == 0 {
			d.top.entries++
			d.top.lastName = name
			d.top.lastEmptyDir = false
			it.lastDir = sub
		}
		return true
	}
	if d.depth == 0 && it.lastDir != nil {
		d.top.lastEmptyDir = it.lastDir.entries == 0
		it.lastDir = nil
	}
	return false
}

func (it *filterIter) Node() files.Node { return it.node }

// ImportCAR checks that the CAR has exactly one root, then streams it to dag/import
// (pin-roots=false). Kubo verifies every block; a CAR it rejects is an error wrapping
// ipfs.ErrBadCAR.
func (n *Node) ImportCAR(ctx context.Context, r io.Reader) (api.Cid, error) {
	ctx, done, err := n.begin(ctx, false)
	if err != nil {
		return api.CidUndef, err
	}
	defer done()
	root, stream, wantBytes, err := carRoot(r)
	if err != nil {
		return api.CidUndef, err
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	badStream := make(chan error, 1)
	go func() {
		part, err := mw.CreateFormFile("file", "import.car")
		if err == nil {
			var k int64
			k, err = io.Copy(part, stream)
			if err == nil && uint64(k) < wantBytes {
				err = fmt.Errorf("%w: truncated CARv2: read %d of %d bytes", ipfs.ErrBadCAR, k, wantBytes)
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
		return api.CidUndef, bad
	default:
	}
	if err != nil {
		var ke *Error
		if errors.As(err, &ke) && ctx.Err() == nil {
			return api.CidUndef, fmt.Errorf("%w: %w", ipfs.ErrBadCAR, err)
		}
		return api.CidUndef, fmt.Errorf("import CAR: %w", err)
	}
	return root, nil
}

// carRoot reads the CAR header (v1, or v2 and its inner v1 header) from r and returns the single
// root, a reader that replays the whole stream and, for a CARv2, the length the stream must
// have (a CARv2 cut at a section boundary looks complete to Kubo).
func carRoot(r io.Reader) (api.Cid, io.Reader, uint64, error) {
	var seen bytes.Buffer
	br := bufio.NewReader(io.TeeReader(r, &seen))
	var wantBytes uint64
	if p, _ := br.Peek(car.PragmaSize + car.HeaderSize); len(p) == car.PragmaSize+car.HeaderSize &&
		bytes.Equal(p[:car.PragmaSize], car.Pragma) {
		var h car.Header
		if _, err := h.ReadFrom(bytes.NewReader(p[car.PragmaSize:])); err == nil {
			wantBytes = h.DataOffset + h.DataSize
		}
	}
	rd, err := car.NewBlockReader(br)
	if err != nil {
		if strings.Contains(err.Error(), "no roots") {
			return api.CidUndef, nil, 0, fmt.Errorf("%w: CAR has 0 roots; exactly one is required", ipfs.ErrBadCAR)
		}
		return api.CidUndef, nil, 0, fmt.Errorf("%w: not a CAR stream: %v", ipfs.ErrBadCAR, err)
	}
	if len(rd.Roots) != 1 {
		return api.CidUndef, nil, 0, fmt.Errorf("%w: CAR has %d roots; exactly one is required", ipfs.ErrBadCAR, len(rd.Roots))
	}
	replay := io.MultiReader(bytes.NewReader(seen.Bytes()), r)
	return api.NewCid(rd.Roots[0]), replay, wantBytes, nil
}
