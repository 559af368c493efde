package peer

import (
	"context"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/syncer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// Tombstone collection and snapshot notifications.
//
// An unpin leaves a tombstone so that it wins over older pins still travelling. A tombstone is
// dropped once it is causally stable: every member has seen it (its seq is within the pointwise
// minimum of all members' version vectors) and this peer holds every op each member had made
// when it reported that vector, so no op older than the tombstone can still arrive from a
// member. The op logs are trimmed up to that minimum too, and a peer that later needs trimmed
// ops loads a snapshot (actors/syncer), which can neither resurrect a collected deletion here
// (records already seen are skipped) nor keep one there (records the sender saw and no longer
// holds are pruned).
//
// Members are durable (persistence: Members): every trusted peer this peer has pulled from,
// until `peers rm`. A member that is down or partitioned holds collection back everywhere until
// it returns, so a partition never lets an acknowledged unpin come back. A member unheard for
// longer than consensus.crdt.absent_peer_horizon stops counting; when it returns its version
// vector is behind the trimmed logs and it rejoins through a snapshot, which carries the
// sender's collection watermark: the returning peer's pins that the sender never saw and that
// are not after the watermark raced collected deletions and are superseded
// (onRacedCollection). Untrusted peers never
// count: their ops are refused, so they cannot bring an old pin back to a trusted peer.

// gcFreshness is how recent (in rebroadcast intervals) each member's version vector must be.
const gcFreshness = 3

// memberTouchEvery bounds how often a member's last-heard time is written.
const memberTouchEvery = time.Minute

// gcLoop collects causally stable tombstones every state_sync_interval.
func (p *Peer) gcLoop(ctx context.Context) {
	every(ctx, p.cfg.Cluster.StateSyncInterval.D(), func() { p.collectTombstones(ctx) })
}

// touchMember records that a trusted peer answered a pull (at most once a memberTouchEvery).
func (p *Peer) touchMember(id libp2ppeer.ID) {
	if id == p.ident.ID || !p.trusted(id) || p.members_.isRemoved(id) {
		return
	}
	now := time.Now()
	p.members_.mu.Lock()
	last := p.members_.touched[id]
	fresh := now.Sub(last) < memberTouchEvery
	if !fresh {
		p.members_.touched[id] = now
	}
	p.members_.mu.Unlock()
	if fresh {
		return
	}
	if err := p.store.TouchMember(id, now); err != nil {
		p.log.Warn("recording a cluster member", "peer", id, "err", err)
	}
}

// gcMembers is every member tombstone collection must wait for: the trusted peers visible now
// and the durable members heard from within the horizon, minus removed peers.
func (p *Peer) gcMembers(ctx context.Context) ([]libp2ppeer.ID, error) {
	set := map[libp2ppeer.ID]bool{}
	for _, id := range p.members(ctx) {
		set[id] = true
	}
	durable, err := p.store.Members()
	if err != nil {
		return nil, err
	}
	horizon := time.Now().Add(-p.cfg.Consensus.CRDT.AbsentPeerHorizon.D())
	for id, at := range durable {
		if at.After(horizon) {
			set[id] = true
		} else if !set[id] {
			p.log.Info("tombstone collection no longer waits for a peer silent beyond absent_peer_horizon; it will rejoin through a snapshot", "peer", id, "last_heard", at)
		}
	}
	out := make([]libp2ppeer.ID, 0, len(set))
	for id := range set {
		if id == p.ident.ID || (p.trusted(id) && !p.members_.isRemoved(id)) {
			out = append(out, id)
		}
	}
	return out, nil
}

// collectTombstones refreshes the version vectors of members not heard from recently (an
// anti-entropy pull records the responder's and fetches what it has), then drops the tombstones
// every member has seen. It does nothing while some member's version vector is unknown or stale.
func (p *Peer) collectTombstones(ctx context.Context) {
	window := gcFreshness * p.cfg.Consensus.CRDT.RebroadcastInterval.D()
	members, err := p.gcMembers(ctx)
	if err != nil {
		p.log.Warn("tombstone collection: reading the members", "err", err)
		return
	}
	seen := p.syncer.SeenVVs()
	for _, id := range members {
		if id == p.ident.ID || time.Since(seen[id].At) < window/2 {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err := p.syncer.Pull(pctx, id)
		cancel()
		if err != nil && ctx.Err() == nil {
			p.log.Debug("tombstone collection: refreshing a version vector", "peer", id, "err", err)
		} else if err == nil {
			p.touchMember(id)
		}
	}
	local, err := p.store.VersionVector()
	if err != nil {
		p.log.Warn("tombstone collection: reading the version vector", "err", err)
		return
	}
	upTo, missing := stableVV(p.ident.ID, members, local, p.syncer.SeenVVs(), time.Now().Add(-window))
	if len(missing) > 0 {
		p.log.Debug("tombstone collection waits for members", "peers", missing)
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
		p.log.Info("tombstone collection: dropped tombstones every member has seen", "count", n, "members", len(members))
	}
}

// stableVV is the pointwise minimum of the members' version vectors: self's is local, the
// others' the latest seen at or after notBefore. An origin absent from any of them counts as 0
// and is left out. missing lists the members without a recent version vector, or whose own ops
// up to that vector have not all reached this peer yet (one of them could be older than a
// tombstone); when it is not empty, upTo is nil and nothing may be collected.
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
		if !ok || sv.At.Before(notBefore) || local[id] < sv.VV[id] {
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

// onRacedCollection is the syncer's hook for local pins that raced deletions another peer has
// collected while this peer was not counted (silent beyond absent_peer_horizon): the deletion
// was acknowledged to a client and the tombstone that would beat these pins is gone, so this
// peer supersedes each with a fresh unpin, which every peer applies alike. A pin this peer
// accepted while cut off for that long, with a clock before the collection, is therefore
// dropped too (logged here): the horizon is how long a partition may last without that cost.
func (p *Peer) onRacedCollection(pins []messages.Op) {
	for _, op := range pins {
		p.log.Warn("a pin made while this peer was cut off beyond absent_peer_horizon races a deletion the cluster has collected: unpinning it",
			"cid", op.Cid, "origin", op.Origin, "clock", op.Clock)
		ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
		_, err := p.pinset.Commit(ctx, messages.Change{Kind: messages.OpUnpin, Pin: api.Pin{Cid: op.Cid}})
		cancel()
		if err != nil && p.ctx.Err() == nil {
			p.log.Warn("superseding a pin that raced a collected deletion", "cid", op.Cid, "err", err)
		}
	}
}
