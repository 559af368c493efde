package peer

import (
	"context"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/syncer"
	"github.com/pincluster/pincluster/messages"
)

// Tombstone collection and snapshot notifications.
//
// An unpin leaves a tombstone so that it wins over older pins still travelling. Once every
// member has seen it (its seq is within the pointwise minimum of all members' version
// vectors), no older pin can arrive from a member and the tombstone is dropped; the op logs are
// trimmed up to that minimum too, and a peer that later needs trimmed ops loads a snapshot
// (actors/syncer).

// gcFreshness is how recent (in rebroadcast intervals) each member's version vector must be.
const gcFreshness = 3

// gcLoop collects causally stable tombstones every state_sync_interval.
func (p *Peer) gcLoop(ctx context.Context) {
	every(ctx, p.cfg.Cluster.StateSyncInterval.D(), func() { p.collectTombstones(ctx) })
}

// collectTombstones refreshes the version vectors of members not heard from recently (an
// anti-entropy pull records the responder's), then drops the tombstones every member has seen.
// It does nothing while some member's version vector is unknown or stale.
func (p *Peer) collectTombstones(ctx context.Context) {
	window := gcFreshness * p.cfg.Consensus.CRDT.RebroadcastInterval.D()
	members := p.members(ctx)
	seen := p.syncer.SeenVVs()
	for _, id := range members {
		if id == p.ident.ID || !p.trusted(id) || time.Since(seen[id].At) < window/2 {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err := p.syncer.Pull(pctx, id)
		cancel()
		if err != nil && ctx.Err() == nil {
			p.log.Debug("tombstone collection: refreshing a version vector", "peer", id, "err", err)
		}
	}
	local, err := p.store.VersionVector()
	if err != nil {
		p.log.Warn("tombstone collection: reading the version vector", "err", err)
		return
	}
	upTo, missing := stableVV(p.ident.ID, members, local, p.syncer.SeenVVs(), time.Now().Add(-window))
	if len(missing) > 0 {
		p.log.Debug("tombstone collection skipped: no recent version vector", "peers", missing)
		return
	}
	if len(upTo) == 0 {
		return
	}
	n, err := p.store.DropTombstones(ctx, upTo)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("tombstone collection", "dropped", n, "err", err)
		}
		return
	}
	if n > 0 {
		p.log.Info("tombstone collection: dropped tombstones every peer has seen", "count", n, "members", len(members))
	}
}

// stableVV is the pointwise minimum of the members' version vectors: self's is local, the
// others' the latest seen at or after notBefore. An origin absent from any of them counts as 0
// and is left out. missing lists the members without a recent version vector; when it is not
// empty, upTo is nil and nothing may be collected.
func stableVV(self libp2ppeer.ID, members []libp2ppeer.ID, local map[libp2ppeer.ID]uint64, seen map[libp2ppeer.ID]syncer.SeenVV, notBefore time.Time) (upTo map[libp2ppeer.ID]uint64, missing []libp2ppeer.ID) {
	upTo = make(map[libp2ppeer.ID]uint64, len(local))
	for o, n := range local {
		if n > 0 {
			upTo[o] = n
		}
	}
	for _, id := range members {
		if id == self {
			continue
		}
		sv, ok := seen[id]
		if !ok || sv.At.Before(notBefore) {
			missing = append(missing, id)
			continue
		}
		for o, n := range upTo {
			if m := sv.VV[o]; m < n {
				if m == 0 {
					delete(upTo, o)
				} else {
					upTo[o] = m
				}
			}
		}
	}
	if len(missing) > 0 {
		return nil, missing
	}
	return upTo, nil
}

// onSnapshotApplied is the syncer's snapshot hook: clocks move past the snapshot's, and the
// changed records reach the reconciler so the tracker pins (or unpins) what is allocated here.
func (p *Peer) onSnapshotApplied(ops []messages.Op) {
	var own uint64
	for _, op := range ops {
		p.clock.Observe(op.Clock)
		if op.Origin == p.ident.ID && op.Seq > own {
			own = op.Seq
		}
	}
	if own > 0 {
		// Our own old ops came back in a snapshot (the state was cleaned): never reuse a seq.
		p.pinset.ObserveOwnSeq(own)
	}
	p.recon.push(messages.PinsetChanged{Ops: ops})
}
