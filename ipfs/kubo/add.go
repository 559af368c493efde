package kubo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/ipfs/boxo/files"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// Add streams dir to Kubo's add as multipart (pin=false) with params' layout, chunker, raw
// leaves, CID version, hash and wrap-with-directory. Hidden (dot) entries below the top level
// are dropped here unless params.Hidden, as the embedded backend does (Kubo's own filter runs in
// its CLI, not in the daemon). An empty directory goes to Kubo like any other, which adds it as
// the empty UnixFS directory.
//
// dir is read as the request body goes out: a failure to read it (a malformed or truncated
// multipart upload) aborts the request, and is reported as api.ErrInvalid rather than as the
// broken call it causes.
func (n *Node) Add(ctx context.Context, dir files.Directory, params api.AddParams, out ipfs.AddOutput) (api.Cid, error) {
	ctx, done, err := n.begin(ctx, false)
	if err != nil {
		return api.CidUndef, err
	}
	defer done()
	if err := params.Validate(); err != nil {
		return api.CidUndef, err
	}
	in := &addInput{}
	body := files.NewMultiFileReader(&filterDir{Directory: dir, hidden: params.Hidden, in: in, depth: 0}, true, false)
	req := request{cmd: "add", query: addQuery(params), body: body,
		contentType: "multipart/form-data; boundary=" + body.Boundary()}
	var root api.Cid
	err = n.call(ctx, req, func(r io.Reader) (err error) {
		root, err = decodeAdd(r, out)
		return err
	})
	entries, inErr := in.result()
	switch {
	case inErr != nil && ctx.Err() == nil:
		return api.CidUndef, fmt.Errorf("%w: reading the files to add: %v", api.ErrInvalid, inErr)
	case entries == 0 && ctx.Err() == nil:
		return api.CidUndef, fmt.Errorf("%w: nothing to add (no files in the request)", api.ErrInvalid)
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
	if p.RawLeaves || p.RawLeavesSet { // an explicit false too: Kubo's default with CIDv1 is true
		q.Set("raw-leaves", strconv.FormatBool(p.RawLeaves))
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

// addInput records what the HTTP client's goroutine saw reading dir: the number of top-level
// entries (none is an error, as in the embedded backend) and the first read failure.
type addInput struct {
	mu      sync.Mutex
	entries int
	err     error
}

func (a *addInput) record(err error) {
	a.mu.Lock()
	if a.err == nil {
		a.err = err
	}
	a.mu.Unlock()
}

func (a *addInput) countTop() {
	a.mu.Lock()
	a.entries++
	a.mu.Unlock()
}

func (a *addInput) result() (entries int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.entries, a.err
}

// filterDir drops hidden entries below the top level, counts the top-level entries and
// records read failures.
type filterDir struct {
	files.Directory
	hidden bool
	in     *addInput
	depth  int
}

func (d *filterDir) Entries() files.DirIterator {
	return &filterIter{DirIterator: d.Directory.Entries(), dir: d}
}

type filterIter struct {
	files.DirIterator
	dir  *filterDir
	node files.Node
}

func (it *filterIter) Next() bool {
	d := it.dir
	for it.DirIterator.Next() {
		name := it.DirIterator.Name()
		if d.depth > 0 && !d.hidden && strings.HasPrefix(name, ".") {
			it.DirIterator.Node().Close()
			continue
		}
		switch nd := it.DirIterator.Node().(type) {
		case files.Directory:
			it.node = &filterDir{Directory: nd, hidden: d.hidden, in: d.in, depth: d.depth + 1}
		case *files.Symlink:
			it.node = nd // its type tells the multipart writer it is a link
		case files.File:
			it.node = &filterFile{File: nd, in: d.in}
		default:
			it.node = nd
		}
		if d.depth == 0 {
			d.in.countTop()
		}
		return true
	}
	if err := it.DirIterator.Err(); err != nil {
		d.in.record(err)
	}
	return false
}

func (it *filterIter) Node() files.Node { return it.node }

// filterFile records the failure to read a file.
type filterFile struct {
	files.File
	in *addInput
}

func (f *filterFile) Read(b []byte) (int, error) {
	n, err := f.File.Read(b)
	if err != nil && err != io.EOF {
		f.in.record(err)
	}
	return n, err
}
