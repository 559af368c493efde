package tracker

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// fill completes a peer's view of a CID with the pin's fields and this peer's identity.
func (t *Tracker) fill(ctx context.Context, c api.Cid, pin *api.Pin, s api.PinInfoShort) api.PinInfo {
	s.PeerName = t.peername
	s.IPFS = t.ipfsPeerID(ctx)
	if s.TS.IsZero() {
		s.TS = time.Now()
	}
	pi := api.PinInfo{Cid: c, Peer: t.self, PinInfoShort: s}
	if pin != nil {
		pi.Name, pi.Allocations, pi.Origins, pi.Created, pi.Metadata = pin.Name, pin.Allocations, pin.Origins, pin.Timestamp, pin.Metadata
	}
	if pi.Allocations == nil {
		pi.Allocations = []peer.ID{}
	}
	if pi.Origins == nil {
		pi.Origins = []string{}
	}
	return pi
}

// ipfsPeerID is the IPFS node's ID (ipfs.IDCache: re-asked every minute).
func (t *Tracker) ipfsPeerID(ctx context.Context) string { return t.ipfsID.Get(ctx) }

// Status derives the status of a pin of the pinset on this peer: remote when not allocated
// here (unless an unpin is still in flight), else the state in flight, else the IPFS node's
// pin list (pinned or unexpectedly_unpinned). When the IPFS node cannot be asked, the status
// is cluster_error with the reason.
func (t *Tracker) Status(ctx context.Context, pin api.Pin) (api.PinInfo, error) {
	s, found, err := t.inFlight(ctx, pin.Cid)
	if err != nil {
		return api.PinInfo{}, err
	}
	allocated := pin.AllocatedTo(t.self)
	switch {
	case found && (allocated || s.Status&(api.TrackerStatusUnpinQueued|api.TrackerStatusUnpinning|api.TrackerStatusUnpinError) != 0):
	case !allocated:
		s = api.PinInfoShort{Status: api.TrackerStatusRemote}
	default:
		pinned, _, err := t.backend.IsPinned(ctx, pin.Cid)
		switch {
		case err != nil:
			s = api.PinInfoShort{Status: api.TrackerStatusClusterError, Error: fmt.Sprintf("cannot ask the IPFS node: %v", err)}
		case !pinned && t.queue.QueueBatched() > 0:
			// Most likely in a batch entry, which has no index (batch.go).
			s = api.PinInfoShort{Status: api.TrackerStatusPinQueued}
		default:
			s = api.PinInfoShort{Status: settledStatus(pinned)}
		}
	}
	return t.fill(ctx, pin.Cid, &pin, s), nil
}

// StatusUnknown is the status of a CID that is not in the pinset: an unpin in flight, or
// unpinned.
func (t *Tracker) StatusUnknown(ctx context.Context, c api.Cid) (api.PinInfo, error) {
	s, found, err := t.inFlight(ctx, c)
	if err != nil {
		return api.PinInfo{}, err
	}
	if !found || s.Status&(api.TrackerStatusUnpinQueued|api.TrackerStatusUnpinning|api.TrackerStatusUnpinError) == 0 {
		s = api.PinInfoShort{Status: api.TrackerStatusUnpinned}
	}
	return t.fill(ctx, c, nil, s), nil
}

// InFlight calls fn for every CID in flight (queued, running or failed): first a snapshot of
// the window, in no particular order, then the rest of the durable queue streamed from
// Badger (queued in queue order, then failed), stopping at fn's first error. Memory is bounded
// by the window, not by the queue.
func (t *Tracker) InFlight(ctx context.Context, fn func(api.Cid, api.PinInfoShort) error) error {
	return t.listInFlight(ctx, fn, nil)
}

// listInFlight is InFlight that also hands writing the CIDs of queue puts not written yet
// (nil: not wanted).
func (t *Tracker) listInFlight(ctx context.Context, fn func(api.Cid, api.PinInfoShort) error, writing func(api.Cid)) error {
	res, err := t.request(ctx, listQuery{writing: writing != nil}, DefaultRequestTimeout)
	if err != nil {
		return err
	}
	r, ok := res.(listReply)
	if !ok {
		return fmt.Errorf("tracker: unexpected reply %T", res)
	}
	if writing != nil {
		for _, c := range r.writing {
			writing(c)
		}
	}
	seen := make(map[string]struct{}, len(r.items)+len(r.skip))
	for _, c := range r.skip {
		seen[c.KeyString()] = struct{}{}
	}
	for _, it := range r.items {
		if err := ctx.Err(); err != nil {
			return err
		}
		seen[it.cid.KeyString()] = struct{}{}
		it.info.PeerName = t.peername
		if err := fn(it.cid, it.info); err != nil {
			return err
		}
	}
	return t.queue.IterateQueue(ctx, func(e persistence.QueueEntry) error {
		if _, ok := seen[e.Cid.KeyString()]; ok {
			return nil
		}
		s := t.entryShort(e)
		s.PeerName = t.peername
		return fn(e.Cid, s)
	})
}

// Recover retries a pin in pin_error, unpin_error or unexpectedly_unpinned now (from the
// priority queue, or by ending its retry backoff) and waits until that attempt ends, returning
// the resulting status. Any other status is returned at once.
func (t *Tracker) Recover(ctx context.Context, pin api.Pin) (api.PinInfo, error) {
	info, err := t.Status(ctx, pin)
	if err != nil || !recoverable(info.Status) {
		return info, err
	}
	msg := recoverPin{pin: pin}
	if e, ok, err := t.queue.QueueGet(pin.Cid); err == nil && ok && e.Failed {
		msg.failed = &e
	}
	st, err := t.recover(ctx, msg)
	if err != nil {
		return api.PinInfo{}, err
	}
	return t.fill(ctx, pin.Cid, &pin, st), nil
}

// recover sends msg to the actor and waits for the attempt's status.
func (t *Tracker) recover(ctx context.Context, msg recoverPin) (api.PinInfoShort, error) {
	res, err := t.request(ctx, msg, RecoverWaitLimit)
	if err != nil {
		return api.PinInfoShort{}, err
	}
	r, ok := res.(messages.RecoverPinResponse)
	if !ok {
		return api.PinInfoShort{}, fmt.Errorf("tracker: unexpected reply %T", res)
	}
	return r.Info, r.Err
}

// RecoverUnpin retries now the failed unpin of c, a CID the pinset no longer holds, and waits
// for that attempt (up to RecoverWaitLimit), as Recover does for a pin; a CID with no failed
// unpin here answers its status. A failed unpin beyond the window is moved back to the
// durable queue's tail and answers unpin_queued without waiting.
func (t *Tracker) RecoverUnpin(ctx context.Context, c api.Cid) (api.PinInfo, error) {
	info, err := t.StatusUnknown(ctx, c)
	if err != nil || info.Status != api.TrackerStatusUnpinError {
		return info, err
	}
	st, err := t.recover(ctx, recoverPin{pin: api.Pin{Cid: c}, unpin: true}) // the zero mode is recursive
	if err != nil {
		return api.PinInfo{}, err
	}
	if st.Status&(api.TrackerStatusUnpinQueued|api.TrackerStatusUnpinning|api.TrackerStatusUnpinError) == 0 {
		st = api.PinInfoShort{Status: api.TrackerStatusUnpinned} // (a CID pinned again meanwhile: not this unpin's)
	}
	return t.fill(ctx, c, nil, st), nil
}

// RecoverAll retries every errored item: those that gave up are re-queued by the queue rules
// (past priority_pin_max_retries: the normal queue), those waiting for a retry backoff
// restart now. It returns how many and does not wait.
func (t *Tracker) RecoverAll(ctx context.Context) (int, error) {
	res, err := t.request(ctx, messages.RecoverAllPins{}, DefaultRequestTimeout)
	if err != nil {
		return 0, err
	}
	r, ok := res.(messages.RecoverAllPinsResponse)
	if !ok {
		return 0, fmt.Errorf("tracker: unexpected reply %T", res)
	}
	return r.Count, nil
}
