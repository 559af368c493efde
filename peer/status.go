package peer

import (
	"context"
	"fmt"
	"sync"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// statusPage is how many pins one fan-out round asks each peer about.
const statusPage = 500

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

// statusOf asks every member for the status of cids (this peer answers locally) and merges the
// answers; a peer that does not answer shows cluster_error.
func (p *Peer) statusOf(ctx context.Context, cids []api.Cid, local bool) ([]api.GlobalPinInfo, error) {
	out := make([]api.GlobalPinInfo, len(cids))
	for i, c := range cids {
		pi, err := p.localInfo(ctx, c)
		if err != nil {
			return nil, err
		}
		out[i].Add(pi)
	}
	if local {
		return out, nil
	}
	strs := make([]string, len(cids))
	for i, c := range cids {
		strs[i] = c.String()
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range p.members(ctx) {
		if id == p.ident.ID {
			continue
		}
		wg.Add(1)
		go func(id libp2ppeer.ID) {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
			defer cancel()
			res, err := p.remote.Request(rctx, p.remote.PID(id, rpcActorName), &messages.StatusRequest{Cids: strs})
			resp, ok := res.(*messages.StatusResponse)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || !ok || resp.Error != "" || len(resp.Infos) != len(cids) {
				msg := errString(err, res)
				if ok && resp.Error != "" {
					msg = resp.Error
				}
				for i := range out {
					out[i].Add(api.PinInfo{Cid: cids[i], Peer: id, PinInfoShort: api.PinInfoShort{
						PeerName: p.peerName(id), Status: api.TrackerStatusClusterError, Error: msg, TS: nowUTC()}})
				}
				return
			}
			for i, pi := range resp.Infos {
				pi.Peer = id
				out[i].Add(pi)
			}
		}(id)
	}
	wg.Wait()
	// A pin allocated to a peer that is not a member (down for long, or removed) shows it as
	// cluster_error rather than hiding it.
	for i := range out {
		for _, a := range out[i].Allocations {
			if _, ok := out[i].PeerMap[a.String()]; !ok {
				out[i].PeerMap[a.String()] = api.PinInfoShort{PeerName: p.peerName(a), Status: api.TrackerStatusClusterError,
					Error: "peer is not reachable", TS: nowUTC()}
			}
		}
	}
	return out, nil
}

// peerName is a peer's name from its metrics, or its ID.
func (p *Peer) peerName(id libp2ppeer.ID) string {
	if id == p.ident.ID {
		return p.cfg.Cluster.Peername
	}
	return id.String()
}

// Status returns the status of c on every member (only this peer when local).
func (p *Peer) Status(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error) {
	gs, err := p.statusOf(ctx, []api.Cid{c}, local)
	if err != nil {
		return api.GlobalPinInfo{}, err
	}
	return gs[0], nil
}

// StatusAll streams the status of every pin (or of cids) that matches filter, a page of pins at
// a time, so memory stays bounded whatever the pinset's size.
func (p *Peer) StatusAll(ctx context.Context, filter api.TrackerStatus, local bool, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	emitPage := func(page []api.Cid) error {
		gs, err := p.statusOf(ctx, page, local)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if g.Match(filter) {
				if err := fn(g); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if len(cids) > 0 {
		for i := 0; i < len(cids); i += statusPage {
			if err := emitPage(cids[i:min(i+statusPage, len(cids))]); err != nil {
				return err
			}
		}
		return nil
	}
	page := make([]api.Cid, 0, statusPage)
	err := p.store.IteratePinsJSON(ctx, func(c api.Cid, _ []byte) error {
		page = append(page, c)
		if len(page) < statusPage {
			return nil
		}
		err := emitPage(page)
		page = page[:0]
		return err
	})
	if err != nil {
		return err
	}
	if len(page) > 0 {
		return emitPage(page)
	}
	return nil
}

// recoverLocal retries c on this peer where it is in error and waits for that attempt.
func (p *Peer) recoverLocal(ctx context.Context, c api.Cid) (api.PinInfo, error) {
	pin, ok, err := p.store.GetPin(c)
	if err != nil {
		return api.PinInfo{}, err
	}
	if !ok {
		// Not in the pinset: an unpin may have failed here; retry it.
		pi, err := p.tracker.StatusUnknown(ctx, c)
		if err != nil {
			return api.PinInfo{}, err
		}
		if pi.Status != api.TrackerStatusUnpinError {
			return api.PinInfo{}, fmt.Errorf("%w: %s is not pinned", api.ErrNotFound, c)
		}
		if err := p.tracker.Untrack(ctx, c); err != nil {
			return api.PinInfo{}, err
		}
		return p.tracker.StatusUnknown(ctx, c)
	}
	return p.tracker.Recover(ctx, pin)
}

// Recover retries c where it is in error (on every allocated peer unless local) and waits.
func (p *Peer) Recover(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error) {
	pi, err := p.recoverLocal(ctx, c)
	if err != nil {
		return api.GlobalPinInfo{}, err
	}
	g := p.global(pi)
	if local {
		return g, nil
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range p.members(ctx) {
		if id == p.ident.ID || (len(pi.Allocations) > 0 && !contains(pi.Allocations, id)) {
			continue
		}
		wg.Add(1)
		go func(id libp2ppeer.ID) {
			defer wg.Done()
			res, err := p.remote.Request(ctx, p.remote.PID(id, rpcActorName), &messages.RecoverRequest{Cid: c.String()})
			resp, ok := res.(*messages.StatusResponse)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || !ok || resp.Error != "" || len(resp.Infos) != 1 {
				msg := errString(err, res)
				if ok && resp.Error != "" {
					msg = resp.Error
				}
				g.Add(api.PinInfo{Cid: c, Peer: id, PinInfoShort: api.PinInfoShort{PeerName: p.peerName(id), Status: api.TrackerStatusClusterError, Error: msg, TS: nowUTC()}})
				return
			}
			r := resp.Infos[0]
			r.Peer = id
			g.Add(r)
		}(id)
	}
	wg.Wait()
	return g, nil
}

// RecoverAll recovers every item in error on this peer and, unless local, asks every other
// member to recover its own; it streams each outcome as it ends.
func (p *Peer) RecoverAll(ctx context.Context, local bool, fn func(api.GlobalPinInfo) error) error {
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
	if err := p.recoverEach(ctx, errored, fn); err != nil {
		return err
	}
	if local {
		return nil
	}
	for _, id := range p.members(ctx) {
		if id == p.ident.ID {
			continue
		}
		res, err := p.remote.Request(ctx, p.remote.PID(id, rpcActorName), &messages.RecoverAllRequest{})
		resp, ok := res.(*messages.StatusResponse)
		if err != nil || !ok || resp.Error != "" {
			msg := errString(err, res)
			if ok && resp.Error != "" {
				msg = resp.Error
			}
			p.log.Warn("recover: a peer could not recover its items", "peer", id, "err", msg)
			continue
		}
		for _, pi := range resp.Infos {
			pi.Peer = id
			if err := fn(p.global(pi)); err != nil {
				return err
			}
		}
	}
	return nil
}

// recoverEach retries cids on this peer, as many at once as the tracker has slots (each
// Recover waits for its attempt, up to pin_timeout, so one at a time would take that long per
// item), and hands each outcome to fn as it ends (fn is never called concurrently).
func (p *Peer) recoverEach(ctx context.Context, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	if len(cids) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		pi  api.PinInfo
		err error
	}
	jobs, results := make(chan api.Cid), make(chan outcome)
	var wg sync.WaitGroup
	for range min(len(cids), max(1, p.cfg.Tracker.ConcurrentPins)) {
		wg.Go(func() {
			for c := range jobs {
				pi, err := p.recoverLocal(ctx, c)
				if err != nil {
					pi, err = p.localInfo(ctx, c)
				}
				select {
				case results <- outcome{pi, err}:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() {
		defer close(jobs)
		for _, c := range cids {
			select {
			case jobs <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var first error
	for r := range results {
		if first == nil {
			first = r.err
			if first == nil {
				first = fn(p.global(r.pi))
			}
			if first != nil {
				cancel() // the workers stop; drain until they have
			}
		}
	}
	return first
}
