package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ipfs/boxo/ipld/merkledag"
	ipfspinner "github.com/ipfs/boxo/pinning/pinner"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// Pin fetches the DAG of c (the root only for direct mode), calling progress after each block
// is fetched or found, then records the pin. A direct pin of a recursively pinned CID, and a
// repeated pin, succeed at once; a recursive pin of a direct pin upgrades it.
func (n *Node) Pin(ctx context.Context, c api.Cid, mode api.PinMode, progress ipfs.PinProgress) error {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	if !c.Defined() {
		return fmt.Errorf("%w: pin of an undefined CID", api.ErrInvalid)
	}
	pinned, cur, err := n.isPinned(ctx, c.Cid)
	if err != nil {
		return err
	}
	if pinned && (cur == mode || cur == api.PinModeRecursive) {
		return nil
	}
	defer n.reachSources(ctx, c, true)()

	// Every block fetched or found is recorded in ctx's GC record (gcguard.go) before it is
	// used, so a concurrent GC keeps it; the pin protects the DAG once recorded.
	switch mode {
	case api.PinModeDirect:
		if _, err := n.dag.Get(ctx, c.Cid); err != nil {
			return n.fetchErr(c.Cid, c.Cid, err)
		}
		if progress != nil {
			progress(1)
		}
		err = n.pinner.PinWithMode(ctx, c.Cid, ipfspinner.Direct, "")
	case api.PinModeRecursive:
		if err := n.fetchDAG(ctx, c.Cid, progress); err != nil {
			return err
		}
		err = n.pinner.PinWithMode(ctx, c.Cid, ipfspinner.Recursive, "")
	default:
		return fmt.Errorf("%w: unknown pin mode %d", api.ErrInvalid, mode)
	}
	if err != nil {
		return fmt.Errorf("record pin of %s: %w", c, err)
	}
	n.stats.invalidate()
	return nil
}

// fetchDAG walks the whole DAG under root through a bitswap session (or locally when offline).
func (n *Node) fetchDAG(ctx context.Context, root cid.Cid, progress ipfs.PinProgress) error {
	ng := merkledag.NewSession(ctx, n.dag)
	var mu sync.Mutex
	var count uint64
	getLinks := func(ctx context.Context, c cid.Cid) ([]*format.Link, error) {
		nd, err := ng.Get(ctx, c)
		if err != nil {
			return nil, n.fetchErr(root, c, err)
		}
		mu.Lock()
		count++
		if progress != nil {
			progress(count)
		}
		mu.Unlock()
		return nd.Links(), nil
	}
	seen := cid.NewSet()
	if err := merkledag.Walk(ctx, getLinks, root, seen.Visit, merkledag.Concurrent()); err != nil {
		var fe *fetchError
		if errors.As(err, &fe) {
			return err
		}
		return n.fetchErr(root, root, err)
	}
	return nil
}

type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// fetchErr explains a failure to get block c of the DAG under root.
func (n *Node) fetchErr(root, c cid.Cid, err error) error {
	if format.IsNotFound(err) && n.bswap == nil {
		return &fetchError{fmt.Errorf("pin %s: block %s not found locally (offline node: connect it to peers to fetch): %w",
			root, c, api.ErrNotFound)}
	}
	return &fetchError{fmt.Errorf("pin %s: fetch block %s: %w", root, c, err)}
}

// Unpin removes the recursive or direct pin of c.
func (n *Node) Unpin(ctx context.Context, c api.Cid) error {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := n.pinner.Unpin(ctx, c.Cid, true); err != nil {
		if errors.Is(err, ipfspinner.ErrNotPinned) {
			return fmt.Errorf("unpin %s: %w", c, ipfs.ErrNotPinned)
		}
		return fmt.Errorf("unpin %s: %w", c, err)
	}
	return nil
}

// IsPinned looks c up in the pin indexes (no DAG walk).
func (n *Node) IsPinned(ctx context.Context, c api.Cid) (bool, api.PinMode, error) {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return false, 0, err
	}
	defer done()
	return n.isPinned(ctx, c.Cid)
}

func (n *Node) isPinned(ctx context.Context, c cid.Cid) (bool, api.PinMode, error) {
	for _, m := range []ipfspinner.Mode{ipfspinner.Recursive, ipfspinner.Direct} {
		res, err := n.pinner.CheckIfPinnedWithType(ctx, m, false, c)
		if err != nil {
			return false, 0, fmt.Errorf("pin lookup of %s: %w", c, err)
		}
		if len(res) > 0 && res[0].Mode == m {
			if m == ipfspinner.Direct {
				return true, api.PinModeDirect, nil
			}
			return true, api.PinModeRecursive, nil
		}
	}
	return false, 0, nil
}

// PinLs streams the recursive pins, then the direct ones.
func (n *Node) PinLs(ctx context.Context, fn func(c api.Cid, mode api.PinMode) error) error {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	streams := []struct {
		mode api.PinMode
		keys func(context.Context, bool) <-chan ipfspinner.StreamedPin
	}{{api.PinModeRecursive, n.pinner.RecursiveKeys}, {api.PinModeDirect, n.pinner.DirectKeys}}
	for _, s := range streams {
		for sp := range s.keys(ctx, false) {
			if sp.Err != nil {
				return fmt.Errorf("list pins: %w", sp.Err)
			}
			if err := fn(api.NewCid(sp.Pin.Key), s.mode); err != nil {
				cancel()
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}
