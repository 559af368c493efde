// Package ipfs declares the contract between a pincluster peer and the IPFS node behind it, and
// holds its backends: embedded (a boxo node inside the peer, the default), fake (in-memory, with
// fault injection, for tests) and kubo (a Kubo daemon's HTTP RPC API).
package ipfs

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/ipfs/boxo/files"
	"github.com/pincluster/pincluster/api"
)

// Errors a Backend returns (wrapped with detail).
var (
	// ErrNotPinned: Unpin of a CID that is not pinned. Callers treat it as success.
	ErrNotPinned = errors.New("not pinned")
	// ErrBadCAR: the CAR stream is malformed, truncated, cannot be read, does not have exactly
	// one root or does not contain its root block. It wraps api.ErrInvalid: a bad CAR is the
	// caller's mistake (400) whichever backend finds it. It is api.ErrBadCAR (the domain
	// layer's, so the REST API can name it without importing this package).
	ErrBadCAR = api.ErrBadCAR
	// ErrClosed: the backend was closed.
	ErrClosed = errors.New("ipfs backend closed")
)

// DefaultResolveTimeout bounds the resolution of one /ipns/ name (IPNS record or DNSLink) by
// either backend: past it the name is reported as not found (api.ErrNotFound, a 404), so a pin
// of a name nobody publishes fails in bounded time instead of holding the request for
// ipfs_request_timeout. Kubo's own default for a DHT name lookup is one minute; the records of
// a cluster's private network are a few hops away at most.
const DefaultResolveTimeout = 30 * time.Second

// PinProgress is called by Pin each time a block of the DAG has been fetched or found locally,
// with the running count. The tracker uses it to time out a pin only when no block arrived for
// pin_timeout. It must not block.
type PinProgress func(blocks uint64)

// RepoStat is the storage summary of the IPFS node.
type RepoStat struct {
	RepoSize   uint64 `json:"repo_size"`
	StorageMax uint64 `json:"storage_max"`
	// FreeSpace is the free space on the repo's filesystem, or StorageMax-RepoSize when smaller.
	FreeSpace  uint64 `json:"free_space"`
	NumObjects uint64 `json:"num_objects"`
}

// AddOutput receives each file/directory added (and progress lines when asked); it must not block
// for long.
type AddOutput func(api.AddedOutput)

// Backend is an IPFS node. All methods are safe for concurrent use and honour ctx cancellation;
// they block until done.
type Backend interface {
	// ID identifies the IPFS node.
	ID(ctx context.Context) (api.IPFSID, error)

	// Pin fetches the DAG of c (recursively, or only the root for direct mode) and pins it.
	// Pinning an already pinned CID succeeds at once. Progress may be nil.
	Pin(ctx context.Context, c api.Cid, mode api.PinMode, progress PinProgress) error
	// Unpin removes the pin of c (recursive or direct). A CID that is not pinned returns an
	// error wrapping ErrNotPinned.
	Unpin(ctx context.Context, c api.Cid) error
	// IsPinned reports whether c is pinned, and how. It is cheap (no DAG walk).
	IsPinned(ctx context.Context, c api.Cid) (pinned bool, mode api.PinMode, err error)
	// PinLs streams every pinned root (recursive and direct) to fn, stopping at fn's first error.
	PinLs(ctx context.Context, fn func(c api.Cid, mode api.PinMode) error) error

	// Add imports files (a directory tree; one file is a directory with one entry) as UnixFS
	// with params' layout, chunker, raw leaves, CID version, hash and wrap-with-directory, without
	// pinning them. It reports each entry to out and returns the root: the single file's CID, the
	// wrapping directory when WrapWithDirectory, or the top directory. An empty directory is
	// content like any other (the empty UnixFS directory, as Kubo adds it); an input with no
	// entries at all returns an error wrapping api.ErrInvalid.
	//
	// Unreadable or malformed input (dir's iterators or files fail: a multipart body that does
	// not parse or breaks off) returns an error wrapping api.ErrInvalid, however far the backend
	// had got, unless ctx ended first. Entries reported to out before the fault are not a
	// result (api/rest holds them back until Add returns).
	Add(ctx context.Context, dir files.Directory, params api.AddParams, out AddOutput) (api.Cid, error)
	// ImportCAR stores the blocks of a CAR (v1 or v2) stream, without pinning. It returns the
	// single root, or an error wrapping ErrBadCAR (and so api.ErrInvalid) when the CAR is
	// malformed, truncated or unreadable, does not have exactly one root, or does not contain
	// its root block (the pin could never complete); the root is checked before anything is
	// stored. A backend that streams to another process may have stored some blocks of a CAR
	// found bad further on (unpinned, so GC removes them).
	ImportCAR(ctx context.Context, r io.Reader) (api.Cid, error)
	// ImportCARRoots is ImportCAR for Kubo's dag import: the CAR may list any number of roots
	// (none too), and need not carry their blocks (another CAR of the same import may). It
	// returns the roots in the header's order. The proxy's dag/import calls it with the
	// embedded backend; with the kubo backend dag/import goes to Kubo itself.
	ImportCARRoots(ctx context.Context, r io.Reader) ([]api.Cid, error)

	// Resolve returns the CID an IPFS path names: /ipfs/<cid>[/a/b] and /ipld/<cid>[/a/b] walk
	// the DAG (fetching blocks when the node is online), /ipns/<name>[/a/b] is first resolved to
	// an /ipfs/ path (an IPNS record found through the node's routing, or a DNSLink TXT record)
	// within DefaultResolveTimeout, and its rest walked. A path that ends inside a block (a
	// field of a dag-cbor node) names that block. A malformed path returns an error wrapping
	// api.ErrInvalid; a missing link, a name that does not resolve in time, or a block that
	// cannot be found, an error wrapping api.ErrNotFound.
	Resolve(ctx context.Context, path string) (api.Cid, error)

	// RepoStat reports storage use.
	RepoStat(ctx context.Context) (RepoStat, error)
	// GC removes every block not reachable from a pin and returns the removed CIDs.
	GC(ctx context.Context) ([]api.Cid, error)

	// Close releases the node; later calls return ErrClosed.
	Close() error
}
