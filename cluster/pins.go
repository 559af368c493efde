package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// PinService pins, unpins, updates and lists the pinset.
type PinService struct{ d Deps }

// Pin adds or updates c in the pinset and returns the stored pin once it is durable.
// Replication factors 0 take the cluster defaults; options.PinUpdate starts from the options of
// the pin it names. A pin already stored keeps its Pinning Service API requests whatever the
// metadata given (api.KeepRequests); a pin update does not take those of the pin it updates
// (they are requests for that CID).
func (s *PinService) Pin(ctx context.Context, c api.Cid, opts api.PinOptions) (api.Pin, error) {
	return s.pin(ctx, c, opts, false)
}

// PinRequests is Pin for the Pinning Service API (api/pinsvc): the metadata given is stored
// as it is, its requests included, since that API adds and removes them. An expiry equal to the
// stored pin's is not checked again: that API passes the stored pin's options with only its
// requests changed, and a pin whose expire_at has passed (not unpinned yet by the healer's
// sync) must still let its requests be removed, or added to; its expiry stays as it is.
func (s *PinService) PinRequests(ctx context.Context, c api.Cid, opts api.PinOptions) (api.Pin, error) {
	return s.pin(ctx, c, opts, true)
}

func (s *PinService) pin(ctx context.Context, c api.Cid, opts api.PinOptions, requests bool) (api.Pin, error) {
	if err := s.d.Config.Refuse("pin"); err != nil {
		return api.Pin{}, err
	}
	if !c.Defined() {
		return api.Pin{}, fmt.Errorf("%w: no CID given", api.ErrInvalid)
	}
	now := time.Now()
	if !requests {
		if err := opts.ValidateExpiry(now); err != nil {
			return api.Pin{}, err
		}
	}
	var from api.Pin
	if opts.PinUpdate.Defined() {
		var ok bool
		var err error
		if from, ok, err = s.d.Store.GetPin(opts.PinUpdate); err != nil {
			return api.Pin{}, err
		}
		if !ok {
			return api.Pin{}, fmt.Errorf("%w: pin update: %s is not in the pinset", api.ErrNotFound, opts.PinUpdate)
		}
		from.Metadata = api.WithoutRequests(from.Metadata)
		opts = mergeUpdate(from, opts)
		if opts.ValidateExpiry(now) != nil { // inherited: the pin it updates has expired
			return api.Pin{}, fmt.Errorf("%w: pin update: %s expired at %s; give the new pin an expiry in the future", api.ErrInvalid, from.Cid, from.ExpireAt.UTC().Format(time.RFC3339))
		}
	}
	// A shard or the clusterDAG of a sharded add is never re-pinned whole, whatever the
	// replication asked (a new CID costs no read: the store's key filter answers).
	existing, found, err := s.d.Store.GetPin(c)
	if err != nil {
		return api.Pin{}, err
	}
	if found && existing.TypeOrData() != api.PinTypeData {
		return api.Pin{}, api.RefuseRepinSharded(existing)
	}
	if !requests {
		opts.Metadata = api.KeepRequests(existing.Metadata, opts.Metadata)
	} else if !found || !opts.ExpireAt.Equal(existing.ExpireAt) {
		// A new expiry is checked as Pin checks it; the stored one is kept as it is.
		if err := opts.ValidateExpiry(now); err != nil {
			return api.Pin{}, err
		}
	}
	opts.ApplyDefaults(s.d.Config.ReplicationFactorMin, s.d.Config.ReplicationFactorMax)
	if err := opts.Validate(); err != nil {
		return api.Pin{}, err
	}
	for _, g := range s.d.Gates {
		if err := g.Full(); err != nil {
			return api.Pin{}, err
		}
	}
	pin := api.NewPin(c, opts)
	if opts.ReplicationFactorMin != -1 { // -1: every peer, empty allocations
		var current []peer.ID
		switch {
		case opts.PinUpdate.Defined():
			current = from.Allocations // a pin update keeps the allocations of the pin it updates
		case found:
			current = existing.Allocations
		}
		allocs, err := s.d.Allocator.Allocate(ctx, c, opts, current)
		if err != nil {
			return api.Pin{}, err
		}
		pin.Allocations = allocs
	}
	pin.Timestamp = time.Now().UTC()
	if _, err := s.d.Pinset.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: pin}); err != nil {
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

// PinPath pins the CID an /ipfs/, /ipld/ or /ipns/ path names (resolved by the IPFS node).
func (s *PinService) PinPath(ctx context.Context, path string, opts api.PinOptions) (api.Pin, error) {
	if err := s.d.Config.Refuse("pin"); err != nil {
		return api.Pin{}, err
	}
	c, err := s.resolvePath(ctx, path)
	if err != nil {
		return api.Pin{}, err
	}
	return s.Pin(ctx, c, opts)
}

// UnpinPath unpins the CID an IPFS path names.
func (s *PinService) UnpinPath(ctx context.Context, path string) (api.Pin, error) {
	if err := s.d.Config.Refuse("unpin"); err != nil {
		return api.Pin{}, err
	}
	c, err := s.resolvePath(ctx, path)
	if err != nil {
		return api.Pin{}, err
	}
	return s.Unpin(ctx, c)
}

// resolvePath decodes a bare CID, /ipfs/<cid> and /ipld/<cid> itself; paths into a DAG
// (/ipfs/<cid>/a/b) and IPNS names are resolved by the IPFS node.
func (s *PinService) resolvePath(ctx context.Context, path string) (api.Cid, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return api.DecodeCid(parts[0])
	case len(parts) == 2 && (parts[0] == "ipfs" || parts[0] == "ipld"):
		return api.DecodeCid(parts[1])
	case len(parts) >= 2 && (parts[0] == "ipfs" || parts[0] == "ipld" || parts[0] == "ipns"):
		return s.d.IPFS.Resolve(ctx, "/"+strings.Trim(path, "/"))
	}
	return api.CidUndef, fmt.Errorf("%w: %q is not an /ipfs/ path or CID", api.ErrInvalid, path)
}

// Unpin removes c from the pinset; api.ErrNotFound when it is not pinned.
func (s *PinService) Unpin(ctx context.Context, c api.Cid) (api.Pin, error) {
	if err := s.d.Config.Refuse("unpin"); err != nil {
		return api.Pin{}, err
	}
	pin, err := s.PinGet(ctx, c)
	if err != nil {
		return api.Pin{}, err
	}
	if pin.TypeOrData() != api.PinTypeData {
		return s.unpinSharded(ctx, pin)
	}
	if _, err := s.d.Pinset.Commit(ctx, messages.Change{Kind: crdt.OpUnpin, Pin: api.Pin{Cid: c}}); err != nil {
		return api.Pin{}, err
	}
	return pin, nil
}

// PinGet returns one pin of the pinset; api.ErrNotFound when absent.
func (s *PinService) PinGet(_ context.Context, c api.Cid) (api.Pin, error) {
	pin, ok, err := s.d.Store.GetPin(c)
	if err != nil {
		return api.Pin{}, err
	}
	if !ok {
		return api.Pin{}, fmt.Errorf("%w: %s is not pinned", api.ErrNotFound, c)
	}
	return pin, nil
}

// Count is the number of pins in the pinset, from the store's counter: no scan, however
// large the pinset.
func (s *PinService) Count(_ context.Context) (int, error) {
	return s.d.Store.CountPins()
}

// PinsJSON streams the stored JSON of every pin in key order, as stored (GET /allocations
// writes these bytes as they are): no decoding, no allocation per pin. The slice is only valid
// during fn.
func (s *PinService) PinsJSON(ctx context.Context, fn func(pinJSON []byte) error) error {
	return s.d.Store.PinsRaw(ctx, func(_, js []byte) error { return fn(js) })
}

// FindPinsJSON streams the stored JSON of the pins q selects. Exact and case-insensitive names
// and metadata pairs are looked up in the store's indexes (a store not indexed yet is scanned,
// with a warning); partial names scan the pinset, checking each pin. The slice is only valid
// during fn.
func (s *PinService) FindPinsJSON(ctx context.Context, q api.PinQuery, fn func(pinJSON []byte) error) error {
	if err := q.Validate(); err != nil {
		return err
	}
	if q.IsZero() {
		return s.PinsJSON(ctx, fn)
	}
	match := func(_, js []byte) error {
		ok, err := q.MatchesJSON(js)
		if err != nil || !ok {
			return err
		}
		return fn(js)
	}
	var err error
	switch {
	case q.Name != "" && q.Indexed():
		err = s.d.Store.LookupName(ctx, q.Name, match)
	case len(q.Meta) > 0:
		k, v := anyPair(q.Meta)
		err = s.d.Store.LookupMeta(ctx, k, v, match)
	default:
		return s.d.Store.PinsRaw(ctx, match)
	}
	if errors.Is(err, api.ErrNotIndexed) {
		s.d.Log.Warn("pin lookup scans the whole pinset: " + err.Error())
		return s.d.Store.PinsRaw(ctx, match)
	}
	return err
}

// anyPair is one pair of m (the metadata index needs one; the query checks the rest).
func anyPair(m map[string]string) (string, string) {
	for k, v := range m {
		return k, v
	}
	return "", ""
}
