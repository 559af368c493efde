package pinset

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// Snapshot installs and tombstone collection are writes to the pinset too, so they go through
// this actor like every other write: the syncer and the collector send these messages and the
// actor runs them, one write at a time, on its writer goroutine (group commits of ops first).
// The actor then does what follows any change: it moves its clock and numbering past the
// records installed and tells the subscribers what changed, flagging the unheld unpins (a
// tombstone installed over no record of this peer's, or one pruned: crdt.Unheld), which the
// tracker leaves alone.

// Maintenance is the part of the Store that installs snapshots and collects tombstones
// (persistence.Store satisfies it; see persistence for each method's contract).
type Maintenance interface {
	ApplySnapshot(records []persistence.Record) ([]crdt.Effect, error)
	PruneAbsent(ctx context.Context, after, through api.Cid, present []api.Cid, vv map[peer.ID]uint64) ([]persistence.Record, error)
	RaiseVersionVector(ctx context.Context, vv map[peer.ID]uint64) error
	CollectTombstones(ctx context.Context, upTo map[peer.ID]uint64, exclude []peer.ID, keep func(cid []byte) bool) (int, []peer.ID, error)
	DropAfterCutoff(ctx context.Context, origin peer.ID, cutoff uint64) ([]persistence.Record, error)
}

// InstallSnapshotPage merges one page of another peer's snapshot (its records for the keys in
// (After, Through]; an undefined bound is open) and removes the local records of that range
// the peer had seen (up to VV) and no longer holds. Present lists every CID of the page,
// including records of untrusted origins left out of Records. Reply: SnapshotPageInstalled.
type InstallSnapshotPage struct {
	Records []persistence.Record
	After   api.Cid
	Through api.Cid
	Present []api.Cid
	VV      map[peer.ID]uint64
}

// SnapshotPageInstalled answers InstallSnapshotPage.
type SnapshotPageInstalled struct {
	Err error
}

// RaiseVersionVector records that the pinset holds every op up to VV (a snapshot taken at VV
// was installed). Reply: VersionVectorRaised.
type RaiseVersionVector struct {
	VV map[peer.ID]uint64
}

// VersionVectorRaised answers RaiseVersionVector.
type VersionVectorRaised struct {
	Err error
}

// CollectTombstones drops the tombstones every member has seen (UpTo, causally stable) and
// trims the op logs; it records Exclude, the members collection goes on without, as excluded
// at the greatest clock collected, before the tombstones go, so a pin racing the collection is
// recognised (persistence.Store.CollectTombstones). Reply: TombstonesCollected.
type CollectTombstones struct {
	UpTo    map[peer.ID]uint64
	Exclude []peer.ID
	// Keep names the binary CIDs whose tombstones stay this round (nil: none): this peer's
	// tracker still has to unpin them.
	Keep func(cid []byte) bool
}

// TombstonesCollected answers CollectTombstones: Excluded lists the members recorded as
// excluded for the first time.
type TombstonesCollected struct {
	Dropped  int
	Excluded []peer.ID
	Err      error
}

// DropAfterCutoff removes the records of a removed member's ops after its removal cutoff,
// which arrived here before the removal was known (peers that knew refused them). Reply:
// DroppedAfterCutoff. The subscribers hear of each record dropped as an unpin.
type DropAfterCutoff struct {
	Origin peer.ID
	Cutoff uint64
}

// DroppedAfterCutoff answers DropAfterCutoff.
type DroppedAfterCutoff struct {
	Dropped int
	Err     error
}

// writeJob is a write the writer goroutine runs; result is what it sends back to the actor.
type writeJob interface {
	run(ctx context.Context, store Store) any
}

// maintDone reports the end of a maintenance job.
type maintDone struct {
	sender *actor.PID
	reply  any
	// installed holds the records a snapshot page installed, and changed what that changed
	// (a pruned record as an unpin).
	installed []crdt.Op
	changed   []crdt.Op
	created   []bool // created[i]: changed[i] made a record where the CID had none (nil: none did)
	unheld    []bool // unheld[i]: changed[i] is an unheld tombstone, won or pruned (nil: none is)
	// raised is the version vector a RaiseVersionVector raised the store to.
	raised map[peer.ID]uint64
}

type maintJob struct {
	sender *actor.PID
	msg    any
}

func (j maintJob) run(ctx context.Context, store Store) any {
	d := &maintDone{sender: j.sender}
	switch m := j.msg.(type) {
	case *InstallSnapshotPage:
		d.reply = &SnapshotPageInstalled{Err: installPage(ctx, store, m, d)}
	case *RaiseVersionVector:
		err := store.RaiseVersionVector(ctx, m.VV)
		if err == nil {
			d.raised = m.VV
		}
		d.reply = &VersionVectorRaised{Err: err}
	case *CollectTombstones:
		d.reply = collect(ctx, store, m)
	case *DropAfterCutoff:
		removed, err := store.DropAfterCutoff(ctx, m.Origin, m.Cutoff)
		for _, r := range removed {
			d.removed(r)
		}
		d.reply = &DroppedAfterCutoff{Dropped: len(removed), Err: err}
	}
	return d
}

// installPage prunes the page's range, then merges its records. The prune removes only CIDs
// absent from the page and the merge writes only CIDs present, so the order changes nothing
// but the cost: pruned first, the range holds only this peer's own records, none at all on
// a fresh peer, where pruning after the merge read back every record just written. A page with
// an invalid record changes nothing: it is checked before the prune.
func installPage(ctx context.Context, store Store, m *InstallSnapshotPage, d *maintDone) error {
	if err := persistence.CheckSnapshot(m.Records); err != nil {
		return err
	}
	removed, err := store.PruneAbsent(ctx, m.After, m.Through, m.Present, m.VV)
	for _, r := range removed {
		d.removed(r)
		d.created = append(d.created, false) // keeps created in step with changed
	}
	if err != nil {
		return err
	}
	changed, err := store.ApplySnapshot(m.Records)
	for i, r := range m.Records {
		d.installed = append(d.installed, r.Op)
		if i < len(changed) && changed[i].Won() {
			d.changed = append(d.changed, r.Op)
			d.created = append(d.created, changed[i] == crdt.Created)
			if changed[i] == crdt.Unheld {
				d.markLastUnheld()
			}
		}
	}
	return err
}

// removed tells the subscribers of a record removed (pruned, dropped) as an unpin; an unheld
// tombstone's stays unheld: its CID was no more this peer's to unpin than before.
func (d *maintDone) removed(r persistence.Record) {
	op := r.Op
	op.Kind, op.PinJSON = crdt.OpUnpin, nil
	d.changed = append(d.changed, op)
	if r.Unheld {
		d.markLastUnheld()
	}
}

// markLastUnheld flags the last op of changed as an unheld tombstone; unheld is made only once
// one is, and runs up to the last one (the ops after it are not).
func (d *maintDone) markLastUnheld() {
	d.unheld = append(d.unheld, make([]bool, len(d.changed)-len(d.unheld))...)
	d.unheld[len(d.changed)-1] = true
}

func collect(ctx context.Context, store Store, m *CollectTombstones) *TombstonesCollected {
	res := &TombstonesCollected{}
	res.Dropped, res.Excluded, res.Err = store.CollectTombstones(ctx, m.UpTo, m.Exclude, m.Keep)
	return res
}

// onMaintenance queues a maintenance message; it runs when no write is in flight.
func (a *pinsetActor) onMaintenance(ctx actor.Context, msg any) {
	a.jobs = append(a.jobs, maintJob{sender: ctx.Sender(), msg: msg})
	a.maybeWrite(ctx)
}

func (a *pinsetActor) onMaintDone(ctx actor.Context, m *maintDone) {
	a.writing = false
	var own uint64
	for _, op := range m.installed {
		a.clock.Observe(op.Clock)
		if op.Origin == a.self && op.Seq > own {
			own = op.Seq
		}
	}
	// Our own old ops came back in a snapshot (the state was cleaned): never reuse a seq. The
	// snapshot holds only the winning records, so our last op may not be among them (another
	// peer's unpin superseded it); the version vector it raised says how far our seqs went, and
	// a seq at or below it would be taken for a duplicate and dropped.
	own = max(own, m.raised[a.self])
	a.ownKnown = max(a.ownKnown, own)
	if own >= a.nextSeq {
		a.nextSeq = own + 1
	}
	if len(m.changed) > 0 {
		for _, s := range a.subs {
			ctx.Send(s, messages.PinsetChanged{Ops: m.changed, Created: m.created, Unheld: m.unheld})
		}
	}
	a.checkApplied(ctx) // a snapshot install raises the version vector
	if m.sender != nil {
		ctx.Send(m.sender, m.reply)
	}
	a.maybeWrite(ctx)
}
