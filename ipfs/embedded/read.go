package embedded

import (
	"context"
	"fmt"
	"io"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/ipld/merkledag"
	unixfile "github.com/ipfs/boxo/ipld/unixfs/file"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	car "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"

	"github.com/pincluster/pincluster/api"
)

// Reads of content for the IPFS proxy (api/ipfsproxy): cat, block/get and dag/export. They are
// not part of ipfs.Backend (the cluster never needs them); the proxy finds them on the node with
// an interface assertion. Each read is an operation of the node (begin): Close cancels it, and
// the blocks it reads are safe from a concurrent GC while it runs. Blocks missing locally are
// fetched with bitswap when the node is online.

// readErr maps a missing block to api.ErrNotFound.
func (n *Node) readErr(what string, c cid.Cid, err error) error {
	if format.IsNotFound(err) {
		return fmt.Errorf("%s %s: block not found: %w", what, c, api.ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", what, c, err)
}

// GetBlock returns the raw bytes of block c.
func (n *Node) GetBlock(ctx context.Context, c api.Cid) ([]byte, error) {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	defer n.reachSourcesToRead(ctx, c)()
	b, err := n.bserv.GetBlock(ctx, c.Cid)
	if err != nil {
		return nil, n.readErr("block", c.Cid, err)
	}
	return b.RawData(), nil
}

// readFile is a UnixFS file open for reading; Close ends the node operation.
type readFile struct {
	files.File
	done func()
}

func (f *readFile) Close() error {
	err := f.File.Close()
	f.done()
	return err
}

// OpenFile opens the UnixFS file c for reading from offset (past the end: nothing to read) and
// returns its whole size. A directory, or a node that is not UnixFS, is an error wrapping
// api.ErrInvalid (Kubo: "this dag node is a directory"). The caller closes the file.
func (n *Node) OpenFile(ctx context.Context, c api.Cid, offset int64) (io.ReadCloser, int64, error) {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	// The file's blocks are fetched as it is read: its sources stay protected until it is
	// closed.
	release, opDone := n.reachSourcesToRead(ctx, c), done
	done = func() { release(); opDone() }
	nd, err := n.dag.Get(ctx, c.Cid)
	if err != nil {
		done()
		return nil, 0, n.readErr("cat", c.Cid, err)
	}
	fn, err := unixfile.NewUnixfsFile(ctx, n.dag, nd)
	if err != nil {
		done()
		return nil, 0, fmt.Errorf("%w: cat %s: %v", api.ErrInvalid, c, err)
	}
	f, ok := fn.(files.File)
	if !ok {
		fn.Close()
		done()
		return nil, 0, fmt.Errorf("%w: cat %s: this dag node is a directory", api.ErrInvalid, c)
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		done()
		return nil, 0, fmt.Errorf("cat %s: %w", c, err)
	}
	if offset > 0 {
		if offset > size {
			offset = size
		}
		if sk, ok := f.(io.Seeker); ok {
			_, err = sk.Seek(offset, io.SeekStart)
		} else {
			_, err = io.CopyN(io.Discard, f, offset)
		}
		if err != nil {
			f.Close()
			done()
			return nil, 0, n.readErr("cat", c.Cid, err)
		}
	}
	return &readFile{File: f, done: done}, size, nil
}

// ExportCAR writes the whole DAG under c to w as a CARv1 stream with c as its root, each block
// once, in depth-first order (as Kubo's dag export).
func (n *Node) ExportCAR(ctx context.Context, c api.Cid, w io.Writer) error {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	defer n.reachSourcesToRead(ctx, c)()
	// The root is fetched first, so a missing root fails before anything is written.
	if _, err := n.dag.Get(ctx, c.Cid); err != nil {
		return n.readErr("dag export", c.Cid, err)
	}
	out, err := storage.NewWritable(w, []cid.Cid{c.Cid}, car.WriteAsCarV1(true), car.AllowDuplicatePuts(false))
	if err != nil {
		return fmt.Errorf("dag export %s: %w", c, err)
	}
	ng := merkledag.NewSession(ctx, n.dag)
	var walkErr error
	getLinks := func(ctx context.Context, k cid.Cid) ([]*format.Link, error) {
		nd, err := ng.Get(ctx, k)
		if err != nil {
			return nil, n.readErr("dag export", k, err)
		}
		if err := out.Put(ctx, k.KeyString(), nd.RawData()); err != nil {
			walkErr = err
			return nil, err
		}
		return nd.Links(), nil
	}
	seen := cid.NewSet()
	if err := merkledag.Walk(ctx, getLinks, c.Cid, seen.Visit); err != nil {
		if walkErr != nil {
			return fmt.Errorf("dag export %s: writing: %w", c, walkErr)
		}
		return err
	}
	return nil
}
