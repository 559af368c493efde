package embedded

import (
	"context"
	"fmt"
	"io"
	"strings"

	chunk "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	"github.com/ipfs/boxo/ipld/unixfs/importer/trickle"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// Add imports dir as UnixFS without pinning it. The top-level entries of dir are the inputs the
// user named; hidden (dot) entries below them are skipped unless params.Hidden. The returned
// root stays protected from GC for Config.AddGrace so the caller can pin it.
func (n *Node) Add(ctx context.Context, dir files.Directory, params api.AddParams, out ipfs.AddOutput) (api.Cid, error) {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return api.CidUndef, err
	}
	defer done()
	if err := params.Validate(); err != nil {
		return api.CidUndef, err
	}
	a, err := newAdder(ctx, n.dag, params, out)
	if err != nil {
		return api.CidUndef, err
	}

	root, err := a.addTop(dir)
	if err != nil {
		return api.CidUndef, err
	}
	if err := a.dag.Commit(); err != nil {
		return api.CidUndef, fmt.Errorf("add: store blocks: %w", err)
	}
	n.recent.add(root.Cid())
	n.stats.invalidate()
	return api.NewCid(root.Cid()), nil
}

type adder struct {
	ctx       context.Context
	dag       *format.BufferedDAG
	params    api.AddParams
	out       ipfs.AddOutput
	prefix    cid.Prefix
	rawLeaves bool
	chunker   string
}

func newAdder(ctx context.Context, dag format.DAGService, p api.AddParams, out ipfs.AddOutput) (*adder, error) {
	if out == nil {
		out = func(api.AddedOutput) {}
	}
	a := &adder{ctx: ctx, dag: format.NewBufferedDAG(ctx, dag), params: p, out: out,
		rawLeaves: p.UseRawLeaves(), chunker: p.Chunker}
	if a.chunker == "" {
		a.chunker = "size-262144"
	}
	hashName := strings.ToLower(p.HashFun)
	if hashName == "" {
		hashName = "sha2-256"
	}
	code, ok := mh.Names[hashName]
	if !ok {
		return nil, fmt.Errorf("%w: unknown hash function %q", api.ErrInvalid, p.HashFun)
	}
	if p.CidV1() {
		a.prefix = merkledag.V1CidPrefix()
		a.prefix.MhType = code
		a.prefix.MhLength = -1
	} else {
		a.prefix = merkledag.V0CidPrefix()
	}
	return a, nil
}

// addTop adds the top-level entries and returns the root (see Backend.Add). Entries are added
// as they stream in: a multipart part's reader is only valid until the next part is read.
func (a *adder) addTop(dir files.Directory) (format.Node, error) {
	var wrapper uio.Directory
	if a.params.WrapWithDirectory {
		var err error
		if wrapper, err = uio.NewDirectory(a.dag, uio.WithCidBuilder(a.prefix)); err != nil {
			return nil, err
		}
	}
	var last format.Node
	n := 0
	names := entryNames{}
	it := dir.Entries()
	for it.Next() {
		n++
		name, node := it.Name(), it.Node()
		if wrapper != nil {
			// Checked before the import: the entry becomes a link of the wrapper.
			if err := names.claim("", name); err != nil {
				node.Close()
				return nil, err
			}
		}
		nd, err := a.addNode(name, node)
		if err != nil {
			return nil, err
		}
		last = nd
		if wrapper != nil {
			if err := wrapper.AddChild(a.ctx, name, nd); err != nil {
				return nil, fmt.Errorf("add: wrap %q: %w", name, err)
			}
		}
	}
	if err := it.Err(); err != nil {
		return nil, a.inputError("", err)
	}
	// An empty directory is content like any other: Kubo adds it as the empty UnixFS directory
	// (QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn in CIDv0), and so does this node.
	if n == 0 {
		return nil, fmt.Errorf("%w: nothing to add (no files in the request)", api.ErrInvalid)
	}
	if wrapper == nil {
		return last, nil
	}
	return a.finishDir("", wrapper)
}

func (a *adder) addNode(path string, nd files.Node) (format.Node, error) {
	defer nd.Close()
	if err := a.ctx.Err(); err != nil {
		return nil, err
	}
	switch f := nd.(type) {
	case *files.Symlink:
		return a.addSymlink(path, f)
	case files.File:
		return a.addFile(path, f)
	case files.Directory:
		return a.addDir(path, f)
	default:
		return nil, fmt.Errorf("%w: %q is neither a file, a directory nor a symlink", api.ErrInvalid, path)
	}
}

func (a *adder) addFile(path string, f files.File) (format.Node, error) {
	in := &inputReader{r: f}
	var r io.Reader = in
	if a.params.Progress {
		r = &progressReader{r: in, name: path, out: a.out}
	}
	spl, err := chunk.FromString(r, a.chunker)
	if err != nil {
		return nil, fmt.Errorf("%w: chunker %q: %v", api.ErrInvalid, a.chunker, err)
	}
	dbp := helpers.DagBuilderParams{
		Maxlinks:   helpers.DefaultLinksPerBlock,
		RawLeaves:  a.rawLeaves,
		CidBuilder: a.prefix,
		Dagserv:    a.dag,
	}
	db, err := dbp.New(spl)
	if err != nil {
		return nil, err
	}
	var nd format.Node
	if a.params.Layout == "trickle" {
		nd, err = trickle.Layout(db)
	} else {
		nd, err = balanced.Layout(db)
	}
	// The chunker takes a short read for the end of the file, so a truncated input can look
	// like a clean end: the reader's own record tells.
	if in.err != nil {
		return nil, a.inputError(path, in.err)
	}
	if err != nil {
		if ctxErr := a.ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("add %q: %w", path, err)
	}
	return nd, a.report(path, nd)
}

func (a *adder) addSymlink(path string, l *files.Symlink) (format.Node, error) {
	data, err := unixfs.SymlinkData(l.Target)
	if err != nil {
		return nil, err
	}
	nd := merkledag.NodeWithData(data)
	if err := nd.SetCidBuilder(a.prefix); err != nil {
		return nil, err
	}
	if err := a.dag.Add(a.ctx, nd); err != nil {
		return nil, err
	}
	return nd, a.report(path, nd)
}

func (a *adder) addDir(path string, d files.Directory) (format.Node, error) {
	dir, err := uio.NewDirectory(a.dag, uio.WithCidBuilder(a.prefix))
	if err != nil {
		return nil, err
	}
	names := entryNames{}
	it := d.Entries()
	for it.Next() {
		name := it.Name()
		if !a.params.Hidden && strings.HasPrefix(name, ".") {
			it.Node().Close()
			continue
		}
		if err := names.claim(path, name); err != nil {
			it.Node().Close()
			return nil, err
		}
		child, err := a.addNode(path+"/"+name, it.Node())
		if err != nil {
			return nil, err
		}
		if err := dir.AddChild(a.ctx, name, child); err != nil {
			return nil, fmt.Errorf("add %q: %w", path+"/"+name, err)
		}
	}
	if err := it.Err(); err != nil {
		return nil, a.inputError(path, err)
	}
	return a.finishDir(path, dir)
}

// entryNames are the names taken in one directory being built. uio's AddChild replaces an entry
// of the same name, which would drop an input silently; Kubo refuses, and so does this.
type entryNames map[string]struct{}

// claim takes name for an entry of the directory at dir ("" for the wrapper), or says why it
// cannot be a link name there.
func (e entryNames) claim(dir, name string) error {
	where := "the wrapping directory"
	if dir != "" {
		where = fmt.Sprintf("directory %q", dir)
	}
	switch {
	case name == "":
		return fmt.Errorf("%w: a file of the request has no name (empty filename), so it cannot be an entry of %s: name every part", api.ErrInvalid, where)
	case name == "." || name == ".." || strings.Contains(name, "/"):
		return fmt.Errorf("%w: %q cannot be an entry of %s: name the part after the file, not a path", api.ErrInvalid, name, where)
	}
	if _, dup := e[name]; dup {
		return fmt.Errorf("%w: cannot add %q to %s: directory already has entry by that name", api.ErrInvalid, name, where)
	}
	e[name] = struct{}{}
	return nil
}

func (a *adder) finishDir(path string, dir uio.Directory) (format.Node, error) {
	nd, err := dir.GetNode()
	if err != nil {
		return nil, err
	}
	if err := a.dag.Add(a.ctx, nd); err != nil {
		return nil, err
	}
	return nd, a.report(path, nd)
}

func (a *adder) report(path string, nd format.Node) error {
	size, err := nd.Size()
	if err != nil {
		return err
	}
	a.out(api.AddedOutput{Name: path, Cid: api.NewCid(nd.Cid()), Size: size})
	return nil
}

// inputError reports a failure to read the caller's files (a malformed or truncated multipart
// body) as the caller's mistake, ErrInvalid, unless the add was cancelled.
func (a *adder) inputError(path string, err error) error {
	if ctxErr := a.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if path == "" {
		return fmt.Errorf("%w: reading the files to add: %v", api.ErrInvalid, err)
	}
	return fmt.Errorf("%w: reading %q: %v", api.ErrInvalid, path, err)
}

// inputReader remembers the first error reading a file, which tells a bad input apart from a
// failure to store its blocks once the DAG builder has wrapped both alike.
type inputReader struct {
	r   io.Reader
	err error
}

func (i *inputReader) Read(b []byte) (int, error) {
	n, err := i.r.Read(b)
	if err != nil && err != io.EOF && i.err == nil {
		i.err = err
	}
	return n, err
}

// progressReader emits a progress line with the running byte count of one file.
type progressReader struct {
	r     io.Reader
	name  string
	total uint64
	out   ipfs.AddOutput
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.total += uint64(n)
		p.out(api.AddedOutput{Name: p.name, Bytes: p.total})
	}
	return n, err
}
