package cluster

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"slices"
	"time"

	"github.com/ipfs/boxo/files"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// AddService adds content to the cluster: with --local (or no-pin, or without Deps.Blocks) it
// imports into this peer's IPFS node and pins, and the allocations fetch over bitswap; otherwise
// it streams the blocks to every allocation before pinning (add_push.go).
type AddService struct {
	d      Deps
	pins   *PinService
	status *StatusService
}

// addReplicationWait bounds how long add waits for an allocated peer to fetch the blocks.
const addReplicationWait = 10 * time.Minute

// addPollEvery is how often add looks whether an allocated peer holds the added root.
const addPollEvery = 200 * time.Millisecond

// Add imports a multipart upload (UnixFS) or a CAR stream into the IPFS node and pins the root
// unless params.NoPin, reporting each entry to out. Options are checked before any byte is
// imported, so a bad option stores nothing. Exactly one of mr and car is non-nil.
func (s *AddService) Add(ctx context.Context, mr *multipart.Reader, car io.Reader, params api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
	if err := s.d.Config.Refuse("add"); err != nil {
		return api.CidUndef, err
	}
	if err := params.Validate(); err != nil {
		return api.CidUndef, err
	}
	self := s.d.Members.Self()
	opts := params.PinOptions
	if params.Local && len(opts.UserAllocations) == 0 {
		// --local always includes the local peer among the allocations.
		opts.UserAllocations = []peer.ID{self}
	}
	check := opts
	check.ApplyDefaults(s.d.Config.ReplicationFactorMin, s.d.Config.ReplicationFactorMax)
	if err := check.Validate(); err != nil {
		return api.CidUndef, err
	}
	if params.Shard {
		return s.addSharded(ctx, mr, car, params, opts, out)
	}
	if !params.Local && !params.NoPin && s.d.Blocks != nil {
		return s.addToAllocations(ctx, mr, car, params, opts, out)
	}
	root, err := s.importContent(ctx, mr, car, params, out)
	if err != nil || params.NoPin {
		return root, err
	}
	pin, err := s.pins.Pin(ctx, root, opts)
	if err != nil {
		return root, err
	}
	if len(pin.Allocations) > 0 && !slices.Contains(pin.Allocations, self) {
		// The blocks live only here until an allocated peer fetches them (bitswap): wait for
		// one to hold the pin, so the content is replicated when add returns.
		if err := s.waitPinnedSomewhere(ctx, root); err != nil {
			return root, &api.AfterPinError{Err: err}
		}
	}
	return root, nil
}

func (s *AddService) importContent(ctx context.Context, mr *multipart.Reader, car io.Reader, params api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
	if params.Format == "car" {
		if car == nil {
			return api.CidUndef, fmt.Errorf("%w: format=car needs the CAR as the request body", api.ErrInvalid)
		}
		// A bad CAR is api.ErrInvalid already (api.ErrBadCAR); an IPFS node that is down or
		// full keeps its own class (5xx).
		root, err := s.d.IPFS.ImportCAR(ctx, car)
		if err != nil {
			return api.CidUndef, err
		}
		out(api.AddedOutput{Name: root.String(), Cid: root})
		return root, nil
	}
	d, err := filesOf(mr)
	if err != nil {
		return api.CidUndef, err
	}
	return s.d.IPFS.Add(ctx, d, params, func(o api.AddedOutput) { out(o) })
}

// filesOf reads the file list of a multipart add body.
func filesOf(mr *multipart.Reader) (files.Directory, error) {
	if mr == nil {
		return nil, fmt.Errorf("%w: add needs a multipart/form-data body with the files", api.ErrInvalid)
	}
	dir, err := files.NewFileFromPartReader(mr, "multipart/form-data")
	if err != nil {
		return nil, fmt.Errorf("%w: reading the multipart body: %v", api.ErrInvalid, err)
	}
	d, ok := dir.(files.Directory)
	if !ok {
		return nil, fmt.Errorf("%w: the multipart body is not a file list", api.ErrInvalid)
	}
	return d, nil
}

func (s *AddService) waitPinnedSomewhere(ctx context.Context, c api.Cid) error {
	ctx, cancel := context.WithTimeout(ctx, addReplicationWait)
	defer cancel()
	t := time.NewTicker(addPollEvery)
	defer t.Stop()
	for {
		if g, err := s.status.Status(ctx, c, false); err == nil {
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
