package peer

import (
	"context"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/syncer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
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
// vector is behind the trimmed logs and it rejoins through a snapshot. Collecting without it
// records it as excluded at the collection watermark (the greatest clock collected): its pins
// not after that watermark which land here on a CID without a record raced deletions that left
// no trace, and are superseded by a fresh unpin (onRacedPins), whichever way they arrive (op,
// gossip or snapshot) and whichever side pulls first. Untrusted peers never
// count: their ops are refused, so they cannot bring an old pin back to a trusted peer.

// gcFreshness is how recent (in rebroadcast intervals) each member's version vector must be.
const gcFreshness = 3

// memberTouchEvery bounds how often a member's last-heard time is written (and at most a
// tenth of the horizon, so a live member is never mistaken for a silent one).
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
	every := min(memberTouchEvery, p.cfg.Consensus.CRDT.AbsentPeerHorizon.D()/10)
	p.members_.mu.Lock()
	last := p.members_.touched[id]
	fresh := now.Sub(last) < every
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
// and the durable members heard from within the horizon, minus removed peers. expired lists
// the durable members silent beyond the horizon (collection goes on without them).
func (p *Peer) gcMembers(ctx context.Context) (members, expired []libp2ppeer.ID, err error) {
	set := map[libp2ppeer.ID]bool{}
	for _, id := range p.members(ctx) {
		set[id] = true
	}
	durable, err := p.store.Members()
	if err != nil {
		return nil, nil, err
	}
	// Every trusted origin whose ops this peer holds is a member, even one it never met (it
	// joined while that peer was down): it counts from now, and is excluded only after the
	// horizon, as the peers that met it do.
	if local, err := p.store.VersionVector(); err == nil {
		for o := range local {
			if _, known := durable[o]; !known && o != p.ident.ID && p.trusted(o) {
				if err := p.store.TouchMember(o, time.Now()); err == nil {
					durable[o] = time.Now()
				}
			}
		}
	}
	horizon := time.Now().Add(-p.cfg.Consensus.CRDT.AbsentPeerHorizon.D())
	for id, at := range durable {
		if at.After(horizon) {
			set[id] = true
		} else if !set[id] && p.trusted(id) && !p.members_.isRemoved(id) {
			expired = append(expired, id)
		}
	}
	for id := range set {
		if id == p.ident.ID || (p.trusted(id) && !p.members_.isRemoved(id)) {
			members = append(members, id)
		}
	}
	return members, expired, nil
}

// collectTombstones refreshes the version vectors of members not heard from recently (an
// anti-entropy pull records the responder's and fetches what it has), then drops the tombstones
// every member has seen. It does nothing while some member's version vector is unknown or stale.
func (p *Peer) collectTombstones(ctx context.Context) {
	p.supersedeRaced(ctx) // raced pins whose superseding was lost (crash, full disk)
	window := gcFreshness * p.cfg.Consensus.CRDT.RebroadcastInterval.D()
	members, expired, err := p.gcMembers(ctx)
	if err != nil {
		p.log.Warn("tombstone collection: reading the members", "err", err)
		return
	}
	seen, err := p.syncer.SeenVVs(ctx)
	if err != nil {
		p.log.Warn("tombstone collection", "err", err)
		return
	}
	for _, id := range members {
		if id == p.ident.ID || time.Since(seen[id].At) < window/2 {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err := p.syncer.Pull(pctx, id)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				p.log.Debug("tombstone collection: refreshing a version vector", "peer", id, "err", err)
			}
			continue
		}
		p.touchMember(id)
	}
	local, err := p.store.VersionVector()
	if err != nil {
		p.log.Warn("tombstone collection: reading the version vector", "err", err)
		return
	}
	if seen, err = p.syncer.SeenVVs(ctx); err != nil {
		p.log.Warn("tombstone collection", "err", err)
		return
	}
	upTo, missing := stableVV(p.ident.ID, members, local, seen, time.Now().Add(-window), p.trusted)
	if len(missing) > 0 {
		p.log.Debug("tombstone collection waits for members", "peers", missing)
		return
	}
	if len(upTo) == 0 {
		return
	}
	// The pinset actor writes: exclusions are durable before any tombstone goes, at the
	// greatest clock applied (a bound on every tombstone about to be dropped), so a racing pin
	// that arrives meanwhile, or after a failed or interrupted drop, is recognised.
	res, err := p.pinset.CollectTombstones(ctx, upTo, expired)
	if res != nil {
		for _, id := range res.Excluded {
			p.log.Warn("tombstone collection went on without a member silent beyond absent_peer_horizon; it rejoins through a snapshot, and its pins that raced the collected deletions will be unpinned",
				"peer", id, "horizon", p.cfg.Consensus.CRDT.AbsentPeerHorizon.D())
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("tombstone collection", "err", err)
		}
		return
	}
	if res.Dropped > 0 {
		p.log.Info("tombstone collection: dropped tombstones every member has seen", "count", res.Dropped, "members", len(members))
	}
}

// stableVV is the pointwise minimum of the members' version vectors: self's is local, the
// others' the latest seen at or after notBefore. An origin absent from any of them counts as 0
// and is left out. missing lists the members without a recent version vector, or that held
// ops of a trusted origin this peer has not received yet (one of them could be older than a
// tombstone, and would come back after it was dropped); when it is not empty, upTo is nil and
// nothing may be collected.
func stableVV(self libp2ppeer.ID, members []libp2ppeer.ID, local map[libp2ppeer.ID]uint64, seen map[libp2ppeer.ID]syncer.SeenVV, notBefore time.Time, trusted func(libp2ppeer.ID) bool) (upTo map[libp2ppeer.ID]uint64, missing []libp2ppeer.ID) {
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
		if !ok || sv.At.Before(notBefore) || !covers(local, sv.VV, trusted) {
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

// covers reports whether local holds every op of a trusted origin that vv holds.
func covers(local, vv map[libp2ppeer.ID]uint64, trusted func(libp2ppeer.ID) bool) bool {
	for o, n := range vv {
		if local[o] < n && trusted(o) {
			return false
		}
	}
	return true
}

// onRacedPins is the store's raced-pin handler: pins of a member excluded from a collection
// (silent beyond absent_peer_horizon) that landed on a CID with no record here and are not
// after the watermark it was excluded at. They raced deletions that were acknowledged and
// whose tombstones are gone, so this peer supersedes them with fresh unpins, which every peer
// applies alike. A pin the excluded member accepted while cut off, on a CID never pinned
// before, is superseded too (and logged): the horizon is how long a partition may last without
// that cost. It runs on the store's writer, so it only hands the work to a worker; should that
// work be lost (a crash, a full disk), the next collection round finds the pins again
// (supersedeRaced).
func (p *Peer) onRacedPins(ops []messages.Op) {
	if p.ctx == nil || p.ctx.Err() != nil {
		return // supersedeRaced finds them after the restart
	}
	p.goLoop(func() {
		ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
		defer cancel()
		p.supersede(ctx, ops)
	})
}

// supersede unpins each raced pin whose record is still that very op (a newer pin or unpin
// that arrived meanwhile is left alone), in one commit.
func (p *Peer) supersede(ctx context.Context, ops []messages.Op) {
	var changes []messages.Change
	for _, op := range ops {
		rec, found, err := p.store.Get(op.Cid)
		if err != nil || !found || rec.Deleted || rec.Op.Origin != op.Origin || rec.Op.Seq != op.Seq {
			continue
		}
		p.log.Warn("a pin from a peer excluded from tombstone collection (silent beyond absent_peer_horizon) races a collected deletion: unpinning it",
			"cid", op.Cid, "origin", op.Origin, "clock", op.Clock)
		changes = append(changes, messages.Change{Kind: messages.OpUnpin, Pin: api.Pin{Cid: op.Cid}})
	}
	if len(changes) == 0 {
		return
	}
	if _, err := p.pinset.Commit(ctx, changes...); err != nil && p.ctx.Err() == nil {
		p.log.Warn("superseding pins that raced a collected deletion (retried at the next collection round)", "pins", len(changes), "err", err)
	}
}

// supersedeRaced is the durable side of onRacedPins: it scans the pinset for live records of
// excluded members not after their watermark and supersedes them, in batches. It costs a scan
// only while some member is excluded.
func (p *Peer) supersedeRaced(ctx context.Context) {
	ex, err := p.store.Exclusions()
	if err != nil || len(ex) == 0 {
		return
	}
	const batch = 1024
	var raced []messages.Op
	err = p.store.IterateRecords(ctx, func(r persistence.Record) error {
		if w, ok := ex[r.Op.Origin]; ok && !r.Deleted && r.Op.Clock <= w {
			raced = append(raced, r.Op)
			if len(raced) >= batch {
				p.supersede(ctx, raced)
				raced = raced[:0]
			}
		}
		return nil
	})
	if len(raced) > 0 {
		p.supersede(ctx, raced)
	}
	if err != nil && ctx.Err() == nil {
		p.log.Warn("looking for pins that raced a collected deletion", "err", err)
	}
}
