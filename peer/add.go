package peer

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"time"

	"github.com/ipfs/boxo/files"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
)

// Add imports a multipart upload (UnixFS) or a CAR stream into the IPFS node and pins the root.
// Options are checked before any byte is imported, so a bad option stores nothing.
func (p *Peer) Add(ctx context.Context, mr *multipart.Reader, car io.Reader, params api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
	if err := params.Validate(); err != nil {
		return api.CidUndef, err
	}
	opts := params.PinOptions
	if params.Local && len(opts.UserAllocations) == 0 {
		// --local always includes the local peer among the allocations.
		opts.UserAllocations = []libp2ppeer.ID{p.ident.ID}
	}
	check := opts
	check.ApplyDefaults(p.cfg.Cluster.ReplicationFactorMin, p.cfg.Cluster.ReplicationFactorMax)
	if err := check.Validate(); err != nil {
		return api.CidUndef, err
	}
	var root api.Cid
	var err error
	switch {
	case params.Format == "car":
		if car == nil {
			return api.CidUndef, fmt.Errorf("%w: format=car needs the CAR as the request body", api.ErrInvalid)
		}
		root, err = p.ipfs.ImportCAR(ctx, car)
		if err != nil {
			// A bad CAR is api.ErrInvalid already (ipfs.ErrBadCAR); an IPFS node that is
			// down or full keeps its own class (5xx).
			return api.CidUndef, err
		}
		out(api.AddedOutput{Name: root.String(), Cid: root})
	default:
		if mr == nil {
			return api.CidUndef, fmt.Errorf("%w: add needs a multipart/form-data body with the files", api.ErrInvalid)
		}
		dir, derr := files.NewFileFromPartReader(mr, "multipart/form-data")
		if derr != nil {
			return api.CidUndef, fmt.Errorf("%w: reading the multipart body: %v", api.ErrInvalid, derr)
		}
		d, ok := dir.(files.Directory)
		if !ok {
			return api.CidUndef, fmt.Errorf("%w: the multipart body is not a file list", api.ErrInvalid)
		}
		root, err = p.ipfs.Add(ctx, d, params, func(o api.AddedOutput) { out(o) })
		if err != nil {
			return api.CidUndef, err
		}
	}
	if params.NoPin {
		return root, nil
	}
	pin, err := p.Pin(ctx, root, opts)
	if err != nil {
		return root, err
	}
	if len(pin.Allocations) > 0 && !contains(pin.Allocations, p.ident.ID) {
		// The blocks live only here until an allocated peer fetches them (bitswap): wait for
		// one to hold the pin, so the content is replicated when add returns.
		if err := p.waitPinnedSomewhere(ctx, root); err != nil {
			return root, &api.AfterPinError{Err: err}
		}
	}
	return root, nil
}

// addReplicationWait bounds how long add waits for an allocated peer to fetch the blocks.
const addReplicationWait = 10 * time.Minute

func (p *Peer) waitPinnedSomewhere(ctx context.Context, c api.Cid) error {
	ctx, cancel := context.WithTimeout(ctx, addReplicationWait)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if g, err := p.Status(ctx, c, false); err == nil {
			for _, pi := range g.PeerMap {
				if pi.Status == api.TrackerStatusPinned {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: added %s, but no allocated peer finished fetching it in time (it stays pinned in the cluster and will be retried)", api.ErrTimeout, c)
		case <-t.C:
		}
	}
}
