package ipfsproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// The proxy's dependencies, one small interface per concern (the peer hands over its services,
// tests fakes). Errors wrap the api sentinel errors.

// Pins is the cluster's pinset.
type Pins interface {
	// Pin adds or updates c (replication factors 0: the cluster defaults; PinUpdate: start
	// from that pin's options and allocations) and returns the pin once durable.
	Pin(ctx context.Context, c api.Cid, opts api.PinOptions) (api.Pin, error)
	// Unpin removes c; api.ErrNotFound when it is not pinned.
	Unpin(ctx context.Context, c api.Cid) (api.Pin, error)
	// PinGet returns one pin; api.ErrNotFound when absent.
	PinGet(ctx context.Context, c api.Cid) (api.Pin, error)
	// PinsJSON streams the JSON of every api.Pin of the pinset.
	PinsJSON(ctx context.Context, fn func(pinJSON []byte) error) error
}

// Adder imports content and pins it in the cluster (see api/rest.Adder).
type Adder interface {
	Add(ctx context.Context, mr *multipart.Reader, car io.Reader, params api.AddParams, out func(api.AddedOutput)) (api.Cid, error)
}

// Health runs IPFS garbage collection.
type Health interface {
	// IPFSGC runs a repo gc on every peer (unless local).
	IPFSGC(ctx context.Context, local bool) (api.GlobalRepoGC, error)
}

// Node is this peer's IPFS node, for what the proxy serves from it.
type Node interface {
	ID(ctx context.Context) (api.IPFSID, error)
	// Resolve returns the CID an /ipfs/, /ipld/ or /ipns/ path names.
	Resolve(ctx context.Context, path string) (api.Cid, error)
	RepoStat(ctx context.Context) (ipfs.RepoStat, error)
	// ImportCARRoots stores the blocks of a CAR, without pinning, and returns the roots its
	// header lists (any number; the CAR need not carry them); api.ErrBadCAR when malformed.
	ImportCARRoots(ctx context.Context, r io.Reader) ([]api.Cid, error)
	// HasBlock reports whether the node holds the block c, without going to the network;
	// ErrNotImplemented when the backend cannot tell.
	HasBlock(ctx context.Context, c api.Cid) (bool, error)
	// ProtectRoots keeps just-imported roots from the node's GC for a while, until they are
	// pinned (a node without such a GC ignores it).
	ProtectRoots(roots []api.Cid)
	// OpenFile opens the UnixFS file c from offset and returns its whole size.
	OpenFile(ctx context.Context, c api.Cid, offset int64) (io.ReadCloser, int64, error)
	// GetBlock returns a block's raw bytes.
	GetBlock(ctx context.Context, c api.Cid) ([]byte, error)
	// ExportCAR writes the DAG under c as a CARv1.
	ExportCAR(ctx context.Context, c api.Cid, w io.Writer) error
}

// ErrNotImplemented: the node cannot serve this (answered 501).
var ErrNotImplemented = errors.New("not implemented")

// contentReader is what the embedded node (ipfs/embedded.Node) has beyond ipfs.Backend.
type contentReader interface {
	OpenFile(ctx context.Context, c api.Cid, offset int64) (io.ReadCloser, int64, error)
	GetBlock(ctx context.Context, c api.Cid) ([]byte, error)
	ExportCAR(ctx context.Context, c api.Cid, w io.Writer) error
}

// BackendNode adapts an IPFS backend to Node. The reads (cat, block/get, dag/export) need a
// backend that has them (the embedded node); others, a fault-injecting wrapper or the fake
// backend, answer them with ErrNotImplemented.
func BackendNode(b ipfs.Backend) Node {
	r, _ := b.(contentReader)
	return backendNode{Backend: b, r: r}
}

type backendNode struct {
	ipfs.Backend
	r contentReader
}

func (n backendNode) HasBlock(ctx context.Context, c api.Cid) (bool, error) {
	bp := ipfs.BlockPutterOf(n.Backend)
	if bp == nil {
		return false, n.notImpl("block/stat")
	}
	return bp.HasBlock(ctx, c.Cid)
}

// rootProtector is what the embedded node has to protect imported roots from its GC.
type rootProtector interface{ ProtectRoots(roots []api.Cid) }

func (n backendNode) ProtectRoots(roots []api.Cid) {
	if p, ok := n.Backend.(rootProtector); ok {
		p.ProtectRoots(roots)
	}
}

func (n backendNode) notImpl(what string) error {
	return fmt.Errorf("%w: %s: the IPFS backend (%T) does not serve it", ErrNotImplemented, what, n.Backend)
}

func (n backendNode) OpenFile(ctx context.Context, c api.Cid, offset int64) (io.ReadCloser, int64, error) {
	if n.r == nil {
		return nil, 0, n.notImpl("cat")
	}
	return n.r.OpenFile(ctx, c, offset)
}

func (n backendNode) GetBlock(ctx context.Context, c api.Cid) ([]byte, error) {
	if n.r == nil {
		return nil, n.notImpl("block/get")
	}
	return n.r.GetBlock(ctx, c)
}

func (n backendNode) ExportCAR(ctx context.Context, c api.Cid, w io.Writer) error {
	if n.r == nil {
		return n.notImpl("dag/export")
	}
	return n.r.ExportCAR(ctx, c, w)
}

// Deps are what the server serves; every field but Forward is required.
type Deps struct {
	Pins   Pins
	Add    Adder
	Health Health
	Node   Node
	// Version is pincluster's version (the version endpoint with the embedded backend).
	Version string
	// Forward is the Kubo RPC API multiaddress that endpoints the proxy does not handle go to
	// (Config.ForwardTo); "" with the embedded backend: the node's endpoints, 501 for others.
	Forward string
	// Guard, when set, refuses add before its body streams (a follower peer's guard,
	// cluster.Config.Refuse); the Adder refuses too, but only once the answer is full duplex,
	// which a client still sending can see as a broken pipe.
	Guard func(op string) error
}

func (d Deps) check() error {
	if d.Pins == nil || d.Add == nil || d.Health == nil || d.Node == nil {
		return errors.New("ipfsproxy: incomplete Deps")
	}
	return nil
}
