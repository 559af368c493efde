package healer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/cidset"
	"github.com/pincluster/pincluster/messages"
)

// commitBatch is how many changes one commit carries (sync and repin alike).
const commitBatch = 256

// elsewhere reports whether the stored pin js is surely allocated to other peers: its JSON
// does not name this peer (quoted) and its allocations are not empty (every peer). Any doubt
// answers false, and the pin is decoded.
func elsewhere(js, quotedSelf []byte) bool {
	return !bytes.Contains(js, quotedSelf) && !bytes.Contains(js, allocNone) && !bytes.Contains(js, allocNull) &&
		bytes.Contains(js, allocList)
}

// mayRepin reports whether the stored pin js may need repinning, from its bytes: false when its
// JSON surely says it needs none (as elsewhere, encoding/json's spelling is assumed): a
// replication factor of -1 (pinned everywhere), or, for a pass over dead peers (forDead), no
// string naming one of them (quotedDead). Any doubt answers true, and the pin is decoded.
// After a peer died or was removed, the pass decoded every pin: at 10M pins everywhere that
// was 40 s of CPU for nothing (profile of a 10M catch-up, 2026-12-03).
func mayRepin(js []byte, forDead bool, quotedDead [][]byte) bool {
	if i := bytes.Index(js, rfMinEverywhere); i >= 0 && i+len(rfMinEverywhere) < len(js) {
		if next := js[i+len(rfMinEverywhere)]; next == ',' || next == '}' {
			return false
		}
	}
	if !forDead {
		return true
	}
	return slices.ContainsFunc(quotedDead, func(q []byte) bool { return bytes.Contains(js, q) })
}

// rfMinEverywhere is how encoding/json writes a replication_factor_min of -1.
var rfMinEverywhere = []byte(`"replication_factor_min":-1`)

// How encoding/json writes a pin's allocations: empty (every peer), null, or a list.
var (
	allocNone = []byte(`"allocations":[]`)
	allocNull = []byte(`"allocations":null`)
	allocList = []byte(`"allocations":[`)
)

// expireKey is how a stored pin's JSON names its expiry (encoding/json omits a zero one). A
// pin whose name or metadata holds the text is decoded for nothing, and that is all.
var expireKey = []byte(`"expire_at"`)

// worker does one job outside the actor (Badger scans, IPFS calls, commits).
type worker struct {
	deps Deps
	log  *slog.Logger
	tell func(msg any) // sends msg to the healer actor
}

// run does j and returns the number of pins it reallocated. The pins of dead peers go first:
// a state sync may wait for the status digest's reconcile (Deps.Passes) and takes minutes at
// millions of pins, and re-replication should not wait for either. A sweep rides on the state
// sync's pass over the pinset (the actor never sweeps without a sync): at 10M pins a pass of
// its own read every pin again, 9 s of CPU every state_sync_interval.
func (w worker) run(ctx context.Context, j job) int {
	n := 0
	if !j.sweep && len(j.dead) > 0 {
		n += w.repin(ctx, j.dead)
	}
	if j.sync {
		n += w.stateSync(ctx, j.sweep)
	}
	return n
}

// repin reallocates the pins allocated to a peer of dead, or, when dead is nil, every pin with
// fewer than replication_factor_min live allocations, in a pass of its own.
func (w worker) repin(ctx context.Context, dead []peer.ID) int {
	r := w.newRepinner(ctx, dead, time.Now())
	if r == nil {
		return 0
	}
	err := w.deps.Pins.IteratePins(ctx, r.may, func(pin api.Pin, rank crdt.Rank) error {
		r.check(ctx, pin, rank)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		w.log.Warn("repinning: iterating the pinset", "err", err)
	}
	return r.done(ctx)
}

// repinner reallocates under-replicated pins offered to it during a pass over the pinset:
// those allocated to a peer of dead, or, when dead is nil, every pin with fewer than
// replication_factor_min live allocations. Its changes are committed commitBatch at a time.
type repinner struct {
	w          worker
	live, dead []peer.ID
	quotedDead [][]byte
	now        time.Time
	changes    []messages.Change
	n          int
	removed    []peer.ID // in a sweep (dead nil): peers removed, taken out of any pin listing them
}

// newRepinner judges expiry at now. It is nil when this peer does not repin: only the live
// member with the lowest ID does the work (see the package doc).
func (w worker) newRepinner(ctx context.Context, dead []peer.ID, now time.Time) *repinner {
	live, err := w.deps.Live.LivePeers(ctx)
	if err != nil || len(live) == 0 {
		return nil
	}
	if !slices.ContainsFunc(live, func(id peer.ID) bool { return id != w.deps.Self }) {
		// Alone: every other peer down at once, or this one cut off (healerActor.aloneAt).
		if len(dead) > 0 { // a sweep of a cluster of one is alone every time: nothing to say
			w.log.Warn("repinning: no other peer is live; this peer may be the one cut off, so it repins nothing until it has seen the others for a while", "down", dead)
		}
		w.tell(aloneSeen{at: time.Now(), dead: dead})
		return nil
	}
	voters := live
	if w.deps.Voters != nil {
		voters = w.deps.Voters(ctx, live)
	}
	if len(voters) == 0 || slices.Min(voters) != w.deps.Self {
		return nil
	}
	r := &repinner{w: w, live: live, dead: dead, now: now, quotedDead: make([][]byte, len(dead))}
	if dead == nil && w.deps.Removed != nil {
		r.removed = w.deps.Removed()
	}
	for i, d := range dead {
		r.quotedDead[i] = []byte(`"` + d.String() + `"`)
	}
	return r
}

// may reports whether the stored pin js may need repinning (mayRepin).
func (r *repinner) may(js []byte) bool { return mayRepin(js, r.dead != nil, r.quotedDead) }

// check reallocates pin, whose record ranks rank, if it is under-replicated. The repin is
// conditional (crdt.Rank): made by the cluster from what it read, it must not win over a
// change made since, above all an unpin a cut-off peer acknowledged while this side of the
// partition judged it dead.
func (r *repinner) check(ctx context.Context, pin api.Pin, rank crdt.Rank) {
	if pin.ReplicationFactorMin == -1 || (r.dead != nil && !slices.ContainsFunc(pin.Allocations, func(a peer.ID) bool { return slices.Contains(r.dead, a) })) {
		return
	}
	if pin.Expired(r.now) {
		return // the state sync unpins it: no new allocations for it
	}
	// A peer removed with peers rm is taken out of the allocations, which the allocator
	// completes, as IPFS Cluster's PeerRemove does with repinning on: a pin still at or above
	// its minimum would otherwise list it, as cluster_error, for good.
	if gone := func(a peer.ID) bool { return slices.Contains(r.removed, a) }; slices.ContainsFunc(pin.Allocations, gone) {
		r.reallocate(ctx, pin, rank, slices.DeleteFunc(slices.Clone(pin.Allocations), gone))
		return
	}
	alive := 0
	for _, a := range pin.Allocations {
		if slices.Contains(r.live, a) {
			alive++
		}
	}
	if alive >= pin.ReplicationFactorMin {
		return // between min and max: left alone
	}
	r.reallocate(ctx, pin, rank, pin.Allocations)
}

// reallocate gives pin the allocations the allocator makes from current, as a conditional op.
func (r *repinner) reallocate(ctx context.Context, pin api.Pin, rank crdt.Rank, current []peer.ID) {
	allocs, err := r.w.deps.Allocator.Allocate(ctx, pin.Cid, pin.PinOptions, current)
	if err != nil {
		r.w.log.Warn("repinning: cannot reallocate", "cid", pin.Cid, "err", err)
		return
	}
	pin.Allocations = allocs
	pin.Timestamp = time.Now().UTC()
	r.changes = append(r.changes, messages.Change{Kind: crdt.OpPin, Pin: pin, After: rank})
	if len(r.changes) >= commitBatch {
		r.flush(ctx)
	}
}

func (r *repinner) flush(ctx context.Context) {
	if len(r.changes) == 0 {
		return
	}
	ops, err := r.w.deps.Pinset.Commit(ctx, r.changes...)
	if err != nil {
		r.w.log.Warn("repinning: commit", "pins", len(r.changes), "err", err)
	}
	r.n += len(ops) // a repin whose record moved on meanwhile is dropped, not counted
	r.changes = r.changes[:0]
}

// done commits what is left and returns the number of pins reallocated.
func (r *repinner) done(ctx context.Context) int {
	r.flush(ctx)
	if r.n > 0 {
		r.w.log.Info("repinning: reallocated under-replicated pins", "dead peers", r.dead, "pins", r.n)
	}
	return r.n
}

// stateSync reads the IPFS pin list and what the tracker holds once each, then streams the
// pinset once (constant memory but for the fingerprints of both, 11-21 bytes a CID: see
// internal/cidset; it waits for the status digest's reconcile, Deps.Passes), and fixes what a crash or a lost message left behind:
//   - IPFS pins that the pinset removed, or moved away from this peer, are unpinned (left by a
//     crash between a commit and its unpin). A CID the pinset has no record of, or only an
//     unheld tombstone (Placement), is never touched.
//   - pins allocated here that the IPFS node does not hold and the tracker does not hold either
//     are tracked again;
//   - expired pins are unpinned.
//
// One listing instead of asking the node pin by pin: with Kubo a question is an HTTP call,
// and a sweep of millions of pins would cost as many.
//
// With sweep, the pass also repins every under-replicated pin (a repinner, built once the
// sync has waited for its turn and the node's list, so that it judges the peers as they are
// then; nil when another peer repins). It returns the number of pins reallocated. Once the
// node has listed its pins, it tells the actor their count (nodeCounted).
func (w worker) stateSync(ctx context.Context, sweep bool) int {
	leave, err := w.deps.Passes.Enter(ctx)
	if err != nil {
		return 0 // stopping
	}
	defer leave()
	onNode := cidset.New()
	pins0, unpins0 := w.deps.Tracker.Settled()
	incarnation := w.deps.Tracker.Incarnation()
	complete := true // every unpin the listing found due was handed to the tracker
	err = w.deps.Node.PinLs(ctx, func(c api.Cid, _ api.PinMode) error {
		onNode.Add(c.KeyString())
		found, here, err := w.deps.Pins.Placement(c)
		if err != nil {
			return err
		}
		if found && !here {
			if err := w.deps.Tracker.Untrack(ctx, c); err != nil && ctx.Err() == nil {
				complete = false
				w.log.Warn("state sync: cannot untrack", "cid", c, "err", err)
			}
		}
		return nil
	})
	listed := err == nil
	if listed && complete && ctx.Err() == nil {
		// Unpins are what tombstone collection waits on, and only the listing hands them
		// out: the tracker now holds every one that was due (tracker.Tracker.Held).
		w.deps.Tracker.MarkReconciled(incarnation)
	}
	if listed {
		// A pin or unpin the tracker completed while the node listed may or may not be in
		// the listing: the baseline is halfway, so such changes are off by half either way.
		pins1, unpins1 := w.deps.Tracker.Settled()
		w.tell(nodeCounted{&nodeCount{pins: onNode.Len(), settledPins: pins0 + (pins1-pins0)/2, settledUnpins: unpins0 + (unpins1-unpins0)/2}})
	}
	if !listed && ctx.Err() == nil {
		// Without the node's list every pin would look missing: only expiry runs this time.
		w.log.Warn("state sync: listing IPFS pins", "err", err)
	}
	// What the tracker holds (in memory or in its durable queue) needs no Track: one read of
	// its queue, not a request and a queue read per pin (10M random reads at 10M queued pins,
	// every state_sync_interval). A pin tracked meanwhile may be tracked again: Track of a
	// queued CID keeps its place.
	var tracked *cidset.Set
	if listed {
		if tracked, err = w.deps.Tracker.TrackedSet(ctx); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("state sync: reading what the tracker holds (pins missing from the node are tracked again next time)", "err", err)
			}
			listed = false // only expiry runs this time
		}
	}
	now := time.Now()
	var repin *repinner
	if sweep {
		repin = w.newRepinner(ctx, nil, now)
	}
	var expired []messages.Change
	flush := func() {
		if len(expired) == 0 {
			return
		}
		if _, err := w.deps.Pinset.Commit(ctx, expired...); err != nil && ctx.Err() == nil {
			w.log.Warn("state sync: unpinning expired pins", "count", len(expired), "err", err)
		}
		expired = expired[:0]
	}
	quotedSelf := []byte(`"` + w.deps.Self.String() + `"`)
	err = w.deps.Pins.PinsRaw(ctx, func(c, js []byte, rank crdt.Rank) error {
		// Most pins have no expiry and are on the node, held by the tracker or allocated
		// elsewhere: they are told by their key and bytes. Decoding every pin was most of a
		// sync's CPU (6 us a pin).
		syncs := bytes.Contains(js, expireKey) || listed && !onNode.Has(c) && !tracked.Has(c) && !elsewhere(js, quotedSelf)
		sweeps := repin != nil && repin.may(js)
		if !syncs && !sweeps {
			return nil
		}
		var pin api.Pin
		if err := json.Unmarshal(js, &pin); err != nil {
			if !syncs { // the sync itself would not have read it: its work goes on
				id, _ := api.CastCid(c)
				w.log.Warn("repinning: stored pin is not valid JSON", "cid", id, "err", err)
				return nil
			}
			return fmt.Errorf("stored pin is not valid JSON: %w", err)
		}
		if sweeps {
			repin.check(ctx, pin, rank) // an expired pin is left to the sync (same now); pin is a copy
		}
		if !syncs {
			return nil
		}
		if pin.Expired(now) {
			// Conditional, as repins are: an update made since (a later expiry) wins.
			expired = append(expired, messages.Change{Kind: crdt.OpUnpin, Pin: api.Pin{Cid: pin.Cid}, After: rank})
			if len(expired) >= commitBatch {
				flush()
			}
			return nil
		}
		if !listed || !pin.AllocatedTo(w.deps.Self) || onNode.Has(c) || tracked.Has(c) {
			return nil
		}
		if err := w.deps.Tracker.Track(ctx, pin); err != nil && ctx.Err() == nil {
			w.log.Warn("state sync: cannot track", "cid", pin.Cid, "err", err)
		}
		return nil
	})
	flush()
	if err != nil && ctx.Err() == nil {
		w.log.Warn("state sync: iterating the pinset", "err", err)
	}
	if repin == nil {
		return 0
	}
	return repin.done(ctx)
}
