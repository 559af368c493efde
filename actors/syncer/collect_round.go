package syncer

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/telemetry"
)

// contact is what a round saw of the cluster: no other member visible (alone), and whether
// a member answered one of its pulls (with its relayed signs of life); neither when the round
// ended before looking.
type contact struct {
	alone    bool
	answered bool
	members  []peer.ID // the members the round judged (the actor's known members)
}

// A round that may not judge silence pulls at most answerPulls members whose copies are fresh,
// each for at most answerTimeout, to get the answer that lets the next one judge: members
// down or unreachable must not hold a round for minutes.
const (
	answerPulls   = 3
	answerTimeout = 20 * time.Second
)

// round is one collection (on a collector worker): it supersedes raced pins whose superseding
// was lost, refreshes the version vectors of members whose copy is not recent or holds ops
// this peer lacks (a pull records the responder's and fetches what it has), then has the
// pinset drop the tombstones every member has seen. It drops nothing while some member's
// version vector is unknown or stale.
// j holds the members' newest signs of life known to the actor and whether silence may be
// judged.
func (d *collectorDeps) round(ctx context.Context, j judgeRound) contact {
	d.supersedeRaced(ctx)
	window := d.cfg.Fresh
	// Only what is held before members are judged is collected this round: a tombstone that
	// arrives later, with ops of a member judged silent, waits for the next judgement.
	early, err := d.store.VersionVector()
	if err != nil {
		d.log.Warn("tombstone collection: reading the version vector", "err", err)
		return contact{}
	}
	members, expired, seenNow, err := d.gcMembers(ctx, j.heard, j.judge, time.Now())
	if err != nil {
		d.log.Warn("tombstone collection: reading the members", "err", err)
		return contact{}
	}
	seen, err := d.syncer.SeenVVs(ctx)
	if err != nil {
		d.log.Warn("tombstone collection", "err", err)
		return seenNow
	}
	asked := 0 // pulls made only for an answer
	for _, id := range members {
		// A member's announcements (announced.go) keep its copy fresh; it is pulled when they
		// did not (lost, or from a peer too old to announce), or when its copy holds ops
		// this peer lacks: the pull fetches them. While silence may not be judged, up to
		// answerPulls members (visible ones first) are pulled until one answers: the answer,
		// with its relayed signs of life, is what lets this peer judge again (the rounds'
		// pulls did that when every round pulled every member).
		fresh := time.Since(seen[id].At) < window/2 && crdt.VersionVector(early).Covers(seen[id].VV, d.members.Trusted)
		if id == d.cfg.Self || fresh && (j.judge || seenNow.answered || asked >= answerPulls) {
			continue
		}
		timeout := time.Minute
		if fresh {
			asked++
			timeout = answerTimeout
		}
		telemetry.CollectionPulls.Inc()
		pctx, cancel := context.WithTimeout(ctx, timeout)
		_, err := d.syncer.Pull(pctx, id)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				d.log.Debug("tombstone collection: refreshing a version vector", "peer", id, "err", err)
			}
			continue
		}
		seenNow.answered = true
		d.signs.note(id, time.Now())
		if err := d.store.TouchMember(id, time.Now()); err != nil {
			d.log.Warn("recording a cluster member", "peer", id, "err", err)
		}
	}
	local, err := d.store.VersionVector()
	if err != nil {
		d.log.Warn("tombstone collection: reading the version vector", "err", err)
		return seenNow
	}
	again, err := d.syncer.SeenVVs(ctx)
	if err != nil {
		d.log.Warn("tombstone collection", "err", err)
		return seenNow
	}
	notBefore := time.Now().Add(-window)
	keepHeld(again, seen, local, members, notBefore, d.members.Trusted)
	upTo, missing := stableVV(d.cfg.Self, members, local, again, notBefore, d.members.Trusted)
	if len(missing) > 0 {
		d.log.Debug("tombstone collection waits for members", "peers", missing)
		return seenNow
	}
	upTo = minVV(upTo, early)
	if len(upTo) == 0 {
		return seenNow
	}
	// The pinset actor writes: exclusions are durable before any tombstone goes, at the
	// greatest clock applied (a bound on every tombstone about to be dropped), so a racing pin
	// that arrives meanwhile, or after a failed or interrupted drop, is recognised.
	var keep func([]byte) bool
	if d.held != nil {
		var err error
		// Reading what the tracker holds is a pass over its whole queue: skipped while there
		// is no tombstone, keeping any that appears meanwhile.
		may, err := d.store.MayHoldTombstones()
		if err == nil && !may {
			keep = func([]byte) bool { return true }
		} else if keep, err = d.held(ctx); err != nil {
			if ctx.Err() != nil {
				return seenNow
			}
			d.log.Warn("tombstone collection: reading what the tracker holds (every tombstone stays this round)", "err", err)
			keep = func([]byte) bool { return true }
		}
	}
	res, err := d.writer.CollectTombstones(ctx, upTo, expired, keep)
	if res != nil {
		for _, id := range res.Excluded {
			d.log.Warn("tombstone collection went on without a member silent beyond absent_peer_horizon; it rejoins through a snapshot, and its pins that raced the collected deletions will be unpinned",
				"peer", id, "horizon", d.cfg.Horizon)
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("tombstone collection", "err", err)
		}
		return seenNow
	}
	if res.Dropped > 0 {
		d.log.Info("tombstone collection: dropped tombstones every member has seen", "count", res.Dropped, "members", len(members))
	}
	return seenNow
}

// keepHeld puts back, in the copies read at the end of a round (again), the copy read at its
// start (first) of each member whose end copy holds ops this peer lacks, when the first is
// fresh (at or after notBefore) and held here, and the ops lacking are all of members: an
// announcement taken during the round may hold ops still on their way, and any consistent
// copy is a lower bound of the member's vector, so the round need not wait for them. Ops of
// an origin that is not a member are the only sign such an origin exists (a peer that joined,
// not heard of here yet): the round must wait for them, or a pin of that origin older than a
// tombstone could land after the tombstone is dropped. A member's ops are held back by its
// own copy instead.
func keepHeld(again, first map[peer.ID]SeenVV, local map[peer.ID]uint64, members []peer.ID, notBefore time.Time, trusted func(peer.ID) bool) {
	held := crdt.VersionVector(local)
	member := make(map[peer.ID]bool, len(members))
	for _, id := range members {
		member[id] = true
	}
	for id, sv := range again {
		f, ok := first[id]
		if !ok || f.At.Before(notBefore) || held.Covers(sv.VV, trusted) || !held.Covers(f.VV, trusted) {
			continue
		}
		ofMembers := true
		for o, n := range sv.VV {
			if n > held[o] && trusted(o) && !member[o] {
				ofMembers = false
				break
			}
		}
		if ofMembers {
			again[id] = f
		}
	}
}

// gcMembers is every member tombstone collection must wait for: the trusted peers visible now
// and the durable members heard from within the horizon, minus removed peers. expired lists
// the durable members silent beyond the horizon (collection goes on without them); a sign of
// life in heard counts as much as the durable last-heard time. Silence is judged only when
// judge is set and some other member is visible now (the contact it returns is what it saw):
// otherwise a silent member is waited for, not expired.
func (d *collectorDeps) gcMembers(ctx context.Context, heard map[peer.ID]time.Time, judge bool, now time.Time) (members, expired []peer.ID, seen contact, err error) {
	trusted, removed := d.members.Trusted, d.members.Removed
	set := map[peer.ID]bool{}
	seen.alone = true
	visible := d.members.Visible(ctx)
	for _, id := range visible {
		set[id] = true
		if id != d.cfg.Self && trusted(id) && !removed(id) {
			seen.alone = false
		}
	}
	durable, err := d.store.Members()
	if err != nil {
		return nil, nil, seen, err
	}
	// Every trusted origin whose ops this peer holds is a member, even one it never met (it
	// joined while that peer was down): it counts from now, and is excluded only after the
	// horizon, as the peers that met it do.
	if local, err := d.store.VersionVector(); err == nil {
		for o := range local {
			if _, known := durable[o]; !known && o != d.cfg.Self && trusted(o) {
				if err := d.store.TouchMember(o, now); err == nil {
					durable[o] = now
				}
			}
		}
	}
	for id, at := range heard {
		if at.After(durable[id]) {
			durable[id] = at
		}
	}
	horizon := now.Add(-d.cfg.Horizon)
	judge = judge && !seen.alone
	var unjudged []peer.ID
	for id, at := range durable {
		switch {
		case at.After(horizon):
			set[id] = true
		case set[id] || !trusted(id) || removed(id):
		case judge:
			expired = append(expired, id)
		default:
			set[id] = true
			unjudged = append(unjudged, id)
		}
	}
	if len(unjudged) > 0 {
		d.log.Debug("tombstone collection waits for members silent beyond absent_peer_horizon: no member has answered this peer since it was last cut off (or started)",
			"peers", unjudged, "alone", seen.alone)
	}
	// The visible members come first: a round that pulls for an answer tries them first.
	add := func(id peer.ID) {
		if set[id] && (id == d.cfg.Self || (trusted(id) && !removed(id))) {
			members = append(members, id)
			delete(set, id)
		}
	}
	for _, id := range visible {
		add(id)
	}
	for id := range set {
		add(id)
	}
	seen.members = append(append(seen.members, members...), expired...)
	return members, expired, seen, nil
}

// supersede unpins each raced pin whose record is still that very op (a newer pin or unpin
// that arrived meanwhile is left alone), in one commit.
func (d *collectorDeps) supersede(ctx context.Context, ops []crdt.Op) {
	var changes []messages.Change
	for _, op := range ops {
		rec, found, err := d.store.Get(op.Cid)
		if err != nil || !found || rec.Deleted || rec.Op.Origin != op.Origin || rec.Op.Seq != op.Seq {
			continue
		}
		d.log.Warn("a pin from a peer excluded from tombstone collection (silent beyond absent_peer_horizon) races a collected deletion: unpinning it",
			"cid", op.Cid, "origin", op.Origin, "clock", op.Clock)
		changes = append(changes, messages.Change{Kind: crdt.OpUnpin, Pin: api.Pin{Cid: op.Cid}})
	}
	if len(changes) == 0 {
		return
	}
	if _, err := d.writer.Commit(ctx, changes...); err != nil && ctx.Err() == nil {
		d.log.Warn("superseding pins that raced a collected deletion (retried at the next collection round)", "pins", len(changes), "err", err)
	}
}

// supersedeRaced is the durable side of RacedPins: the store marks each raced pin in the
// write that applies it, and this supersedes those still their CID's record (a handler call
// lost to a crash, or a commit of it that failed). It reads only the marks.
func (d *collectorDeps) supersedeRaced(ctx context.Context) {
	err := d.store.RacedPins(ctx, func(ops []crdt.Op) { d.supersede(ctx, ops) })
	if err != nil && ctx.Err() == nil {
		d.log.Warn("looking for pins that raced a collected deletion", "err", err)
	}
}
