package peer

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// syncLoop runs a state sync at start (re-deriving tracker work after a restart) and then every
// state_sync_interval: expired pins are unpinned, pins allocated here that the IPFS node lacks are
// queued, and IPFS pins the pinset no longer holds here are removed.
func (p *Peer) syncLoop(ctx context.Context) {
	p.stateSync(ctx)
	every(ctx, p.cfg.Cluster.StateSyncInterval.D(), func() {
		p.stateSync(ctx)
		p.repinSweep(ctx)
	})
}

// every runs f each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// recoverLoop re-queues errored items every pin_recover_interval.
func (p *Peer) recoverLoop(ctx context.Context) {
	every(ctx, p.cfg.Cluster.PinRecoverInterval.D(), func() {
		if n, err := p.tracker.RecoverAll(ctx); err != nil {
			p.log.Warn("recover loop", "err", err)
		} else if n > 0 {
			p.log.Info("recover loop re-queued errored items", "count", n)
		}
	})
}

// stateSync streams the pinset (constant memory) and the IPFS pin list once each.
func (p *Peer) stateSync(ctx context.Context) {
	now := time.Now()
	var expired []messages.Change
	flush := func() {
		if len(expired) == 0 {
			return
		}
		if _, err := p.pinset.Commit(ctx, expired...); err != nil {
			p.log.Warn("state sync: unpinning expired pins", "count", len(expired), "err", err)
		}
		expired = expired[:0]
	}
	err := p.store.IteratePins(ctx, func(pin api.Pin) error {
		if pin.Expired(now) {
			expired = append(expired, messages.Change{Kind: messages.OpUnpin, Pin: api.Pin{Cid: pin.Cid}})
			if len(expired) >= 256 {
				flush()
			}
			return nil
		}
		if !pin.AllocatedTo(p.ident.ID) {
			return nil
		}
		pinned, _, err := p.ipfs.IsPinned(ctx, pin.Cid)
		if err != nil || pinned {
			return nil
		}
		// What the tracker already holds (in memory or in its durable queue) needs no Track.
		if tracked, err := p.tracker.Tracked(ctx, pin.Cid); err != nil || tracked {
			return nil
		}
		if err := p.tracker.Track(ctx, pin); err != nil {
			p.log.Warn("state sync: cannot track", "cid", pin.Cid, "err", err)
		}
		return nil
	})
	flush()
	if err != nil && ctx.Err() == nil {
		p.log.Warn("state sync: iterating the pinset", "err", err)
	}
	// IPFS pins that the pinset removed, or moved away from this peer, are unpinned (left by a
	// crash between a commit and its unpin). A CID the pinset has no record of is never
	// touched: it may be the operator's own pin (kubo backend), or content of a peer whose
	// state was cleaned and is still catching up.
	err = p.ipfs.PinLs(ctx, func(c api.Cid, _ api.PinMode) error {
		rec, found, err := p.store.Get(c)
		if err != nil {
			return err
		}
		if !found {
			return nil
		}
		if rec.Deleted || !p.recordAllocatedHere(rec) {
			if err := p.tracker.Untrack(ctx, c); err != nil {
				p.log.Warn("state sync: cannot untrack", "cid", c, "err", err)
			}
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		p.log.Warn("state sync: listing IPFS pins", "err", err)
	}
}

// recordAllocatedHere reports whether a live record's pin is allocated to this peer.
func (p *Peer) recordAllocatedHere(rec persistence.Record) bool {
	var pin api.Pin
	if err := json.Unmarshal(rec.Op.PinJSON, &pin); err != nil {
		return true // undecodable: leave the IPFS pin alone
	}
	return pin.AllocatedTo(p.ident.ID)
}
