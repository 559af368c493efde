package peer

import (
	"context"
	"fmt"

	"github.com/pincluster/pincluster/api"
)

// localInfo is this peer's status of c: from the pinset when c is in it, else what the tracker
// still holds (an unpin in flight) or "unpinned".
func (p *Peer) localInfo(ctx context.Context, c api.Cid) (api.PinInfo, error) {
	pin, ok, err := p.store.GetPin(c)
	if err != nil {
		return api.PinInfo{}, err
	}
	if !ok {
		return p.tracker.StatusUnknown(ctx, c)
	}
	return p.tracker.Status(ctx, pin)
}

func (p *Peer) global(pi api.PinInfo) api.GlobalPinInfo {
	var g api.GlobalPinInfo
	g.Add(pi)
	return g
}

// Status returns the status of c. With one peer, global and local are the same.
func (p *Peer) Status(ctx context.Context, c api.Cid, _ bool) (api.GlobalPinInfo, error) {
	pi, err := p.localInfo(ctx, c)
	if err != nil {
		return api.GlobalPinInfo{}, err
	}
	return p.global(pi), nil
}

// StatusAll streams the status of every pin (or of cids) that matches filter.
func (p *Peer) StatusAll(ctx context.Context, filter api.TrackerStatus, local bool, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	emit := func(pi api.PinInfo) error {
		g := p.global(pi)
		if !g.Match(filter) {
			return nil
		}
		return fn(g)
	}
	if len(cids) > 0 {
		for _, c := range cids {
			pi, err := p.localInfo(ctx, c)
			if err != nil {
				return err
			}
			if err := emit(pi); err != nil {
				return err
			}
		}
		return nil
	}
	return p.store.IteratePins(ctx, func(pin api.Pin) error {
		pi, err := p.tracker.Status(ctx, pin)
		if err != nil {
			return err
		}
		return emit(pi)
	})
}

// Recover retries c where it is in error and waits for that attempt.
func (p *Peer) Recover(ctx context.Context, c api.Cid, _ bool) (api.GlobalPinInfo, error) {
	pin, ok, err := p.store.GetPin(c)
	if err != nil {
		return api.GlobalPinInfo{}, err
	}
	if !ok {
		return api.GlobalPinInfo{}, fmt.Errorf("%w: %s is not pinned", api.ErrNotFound, c)
	}
	pi, err := p.tracker.Recover(ctx, pin)
	if err != nil {
		return api.GlobalPinInfo{}, err
	}
	return p.global(pi), nil
}

// RecoverAll recovers every item in error and streams each outcome.
func (p *Peer) RecoverAll(ctx context.Context, _ bool, fn func(api.GlobalPinInfo) error) error {
	var errored []api.Cid
	err := p.tracker.InFlight(ctx, func(c api.Cid, s api.PinInfoShort) error {
		if s.Status.Match(api.TrackerStatusError | api.TrackerStatusUnexpectedlyUnpinned) {
			errored = append(errored, c) // bounded by the tracker's queue size
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range errored {
		g, err := p.Recover(ctx, c, true)
		if err != nil {
			pi, serr := p.localInfo(ctx, c)
			if serr != nil {
				return err
			}
			g = p.global(pi)
		}
		if err := fn(g); err != nil {
			return err
		}
	}
	return nil
}
