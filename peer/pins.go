package peer

import (
	"context"
	"fmt"
	"strings"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// Pin adds or updates c in the pinset and returns the stored pin once it is durable.
func (p *Peer) Pin(ctx context.Context, c api.Cid, opts api.PinOptions) (api.Pin, error) {
	if !c.Defined() {
		return api.Pin{}, fmt.Errorf("%w: no CID given", api.ErrInvalid)
	}
	if opts.PinUpdate.Defined() {
		from, ok, err := p.store.GetPin(opts.PinUpdate)
		if err != nil {
			return api.Pin{}, err
		}
		if !ok {
			return api.Pin{}, fmt.Errorf("%w: pin update: %s is not in the pinset", api.ErrNotFound, opts.PinUpdate)
		}
		opts = mergeUpdate(from, opts)
	}
	opts.ApplyDefaults(p.cfg.Cluster.ReplicationFactorMin, p.cfg.Cluster.ReplicationFactorMax)
	if err := opts.Validate(); err != nil {
		return api.Pin{}, err
	}
	if err := p.batcher.Full(); err != nil {
		return api.Pin{}, err
	}
	if err := p.tracker.Full(); err != nil {
		return api.Pin{}, err
	}
	var existing api.Pin
	var found bool
	if opts.ReplicationFactorMin != -1 { // only allocation needs the current pin
		var err error
		if existing, found, err = p.store.GetPin(c); err != nil {
			return api.Pin{}, err
		}
	}
	pin := api.NewPin(c, opts)
	if opts.PinUpdate.Defined() {
		if from, ok, _ := p.store.GetPin(opts.PinUpdate); ok {
			existing, found = from, true // pin update keeps the allocations of the pin it updates
		}
	}
	allocs, err := p.allocate(ctx, c, opts, existing, found)
	if err != nil {
		return api.Pin{}, err
	}
	pin.Allocations = allocs
	pin.Timestamp = time.Now().UTC()
	if _, err := p.pinset.Commit(ctx, messages.Change{Kind: messages.OpPin, Pin: pin}); err != nil {
		return api.Pin{}, err
	}
	return pin, nil
}

// mergeUpdate takes the options of the pin being updated, overridden by those set in the request.
func mergeUpdate(from api.Pin, req api.PinOptions) api.PinOptions {
	o := from.PinOptions
	o.PinUpdate = req.PinUpdate
	if req.Name != "" {
		o.Name = req.Name
	}
	if !req.ExpireAt.IsZero() {
		o.ExpireAt = req.ExpireAt
	}
	if req.ReplicationFactorMin != 0 || req.ReplicationFactorMax != 0 {
		o.ReplicationFactorMin, o.ReplicationFactorMax = req.ReplicationFactorMin, req.ReplicationFactorMax
	}
	if len(req.UserAllocations) > 0 {
		o.UserAllocations = req.UserAllocations
	}
	for k, v := range req.Metadata {
		if o.Metadata == nil {
			o.Metadata = map[string]string{}
		}
		o.Metadata[k] = v
	}
	if req.Mode != o.Mode && req.Mode == api.PinModeDirect {
		o.Mode = req.Mode
	}
	return o
}

// allocate picks the peers for a pin from the allocator's live candidates (allocator rules:
// existing allocations kept while at least min remain, user allocations first, allocate_by
// ranking). Replication -1 means every peer (empty allocations).
func (p *Peer) allocate(ctx context.Context, c api.Cid, opts api.PinOptions, existing api.Pin, found bool) ([]libp2ppeer.ID, error) {
	var current []libp2ppeer.ID
	if found {
		current = existing.Allocations
	}
	return p.allocator.Allocate(ctx, c, opts, current)
}

// PinPath pins the CID an /ipfs/, /ipld/ or /ipns/ path names (resolved by the IPFS node).
func (p *Peer) PinPath(ctx context.Context, path string, opts api.PinOptions) (api.Pin, error) {
	c, err := p.resolvePath(ctx, path)
	if err != nil {
		return api.Pin{}, err
	}
	return p.Pin(ctx, c, opts)
}

// UnpinPath unpins the CID an IPFS path names.
func (p *Peer) UnpinPath(ctx context.Context, path string) (api.Pin, error) {
	c, err := p.resolvePath(ctx, path)
	if err != nil {
		return api.Pin{}, err
	}
	return p.Unpin(ctx, c)
}

// resolvePath decodes a bare CID, /ipfs/<cid> and /ipld/<cid> itself; paths into a DAG
// (/ipfs/<cid>/a/b) and IPNS names are resolved by the IPFS backend.
func (p *Peer) resolvePath(ctx context.Context, path string) (api.Cid, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return api.DecodeCid(parts[0])
	case len(parts) == 2 && (parts[0] == "ipfs" || parts[0] == "ipld"):
		return api.DecodeCid(parts[1])
	case len(parts) >= 2 && (parts[0] == "ipfs" || parts[0] == "ipld" || parts[0] == "ipns"):
		return p.ipfs.Resolve(ctx, "/"+strings.Trim(path, "/"))
	}
	return api.CidUndef, fmt.Errorf("%w: %q is not an /ipfs/ path or CID", api.ErrInvalid, path)
}

// Unpin removes c from the pinset.
func (p *Peer) Unpin(ctx context.Context, c api.Cid) (api.Pin, error) {
	pin, ok, err := p.store.GetPin(c)
	if err != nil {
		return api.Pin{}, err
	}
	if !ok {
		return api.Pin{}, fmt.Errorf("%w: %s is not pinned", api.ErrNotFound, c)
	}
	if _, err := p.pinset.Commit(ctx, messages.Change{Kind: messages.OpUnpin, Pin: api.Pin{Cid: c}}); err != nil {
		return api.Pin{}, err
	}
	return pin, nil
}

// PinGet returns one pin.
func (p *Peer) PinGet(_ context.Context, c api.Cid) (api.Pin, error) {
	pin, ok, err := p.store.GetPin(c)
	if err != nil {
		return api.Pin{}, err
	}
	if !ok {
		return api.Pin{}, fmt.Errorf("%w: %s is not pinned", api.ErrNotFound, c)
	}
	return pin, nil
}

// PinsJSON streams the stored JSON of every pin.
func (p *Peer) PinsJSON(ctx context.Context, fn func([]byte) error) error {
	return p.store.IteratePinsJSON(ctx, func(_ api.Cid, b []byte) error { return fn(b) })
}
