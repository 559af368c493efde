package pinset

import (
	"fmt"

	"github.com/pincluster/pincluster/api"
)

// Own seqs after a restored or cleaned state. A peer numbers its ops on from the highest of
// its own its pinset holds. A pinset replaced by an older copy, or cleaned, holds fewer than
// the peer made; numbered on from there, its new ops would reuse seqs the other members hold,
// they would skip them as seen, and the pins would be lost to the cluster.
//
// The mark (OwnSeqMark, kept by the peer outside the pinset: offlinestate.OwnSeqFile) is the
// highest own seq written, saved by the writer every markEvery own ops and when it stops. A
// pinset behind its mark, on a peer that has other members to hear from (Gate), holds local
// changes (ErrUnavailable, the reason in the message) until a trusted member's version vector
// says how far the cluster holds this peer's ops (OwnSeqSeen, from the syncer), or until its
// own ops up to the mark come back; it then numbers on from the highest of the mark, what the
// member holds and what it holds itself. The ops between are pulled like any others.
//
// Decisions: numbering on from the mark, not from what the first member to answer holds: the
// mark's seqs were used, and if no member holds some of them they leave a gap that holds the
// others' version vectors back (tombstones wait), where reusing them could lose pins. A peer
// with no other member to hear from (a cluster of one) is not held: nobody else holds its ops.
// The mark is written every markEvery ops (an unsynced rename, ~50 us), so a pinset restored
// within markEvery ops of its end goes unnoticed: backups are taken when a peer stops (the
// mark is exact then) or much earlier.

// markEvery is how many own ops the writer lets pass between two marks.
const markEvery = 1024

// OwnSeqMark configures the check (WithOwnSeq).
type OwnSeqMark struct {
	// Floor is the mark as read when the peer started.
	Floor uint64
	// Gate holds local changes while the pinset is behind Floor: the peer has other members
	// (a peerstore or bootstrap addresses) that may hold its ops.
	Gate bool
	// Save records a new mark; called from the writer goroutine. Nil: none is kept.
	Save func(seq uint64) error
}

// Option tunes the pinset actor.
type Option func(*OwnSeqMark)

// WithOwnSeq keeps the own-seq mark and checks the pinset against it (see above).
func WithOwnSeq(m OwnSeqMark) Option { return func(o *OwnSeqMark) { *o = m } }

// OwnSeqSeen tells the pinset actor that a trusted member holds this peer's own ops up to Seq
// (its version vector's entry for this peer). No reply.
type OwnSeqSeen struct {
	Seq uint64
}

// OwnSeqSeen hands the actor a trusted member's entry for this peer. It never blocks.
func (p *Pinset) OwnSeqSeen(seq uint64) {
	p.system.Root.Send(p.pid, OwnSeqSeen{Seq: seq})
}

// ownMark is the writer goroutine's side of the mark: only that goroutine uses it.
type ownMark struct {
	save          func(uint64) error
	written, seen uint64
}

// note records that own ops up to seq are written, saving the mark every markEvery.
func (m *ownMark) note(seq uint64) {
	m.seen = max(m.seen, seq)
	if m.seen >= m.written+markEvery {
		m.flush()
	}
}

// flush saves the mark if it moved (the writer's last act when the actor stops).
func (m *ownMark) flush() {
	if m.save == nil || m.seen <= m.written {
		return
	}
	if m.save(m.seen) == nil {
		m.written = m.seen
	}
}

// behind is the error of a local change while the pinset is behind the mark.
func (a *pinsetActor) behind() error {
	return fmt.Errorf("%w: this peer's state holds its own ops up to %d but it had made %d (its state was restored or cleaned): it takes no change until another member tells it how far the cluster holds them; start the other peers or bootstrap to one, or see the README (state restored or cleaned)",
		api.ErrUnavailable, a.nextSeq-1, a.floor)
}

// onOwnSeqSeen numbers on after what a trusted member holds of this peer's ops, and lets
// local changes in again when they were held.
func (a *pinsetActor) onOwnSeqSeen(m OwnSeqSeen) {
	a.nextSeq = max(a.nextSeq, m.Seq+1)
	a.release(fmt.Sprintf("a trusted member holds them up to %d", m.Seq))
}

// release ends the hold (a no-op when there is none): numbering goes on after the mark.
func (a *pinsetActor) release(why string) {
	if !a.held {
		return
	}
	a.held = false
	a.nextSeq = max(a.nextSeq, a.floor+1)
	a.log.Warn("pinset: taking local changes again after a restored or cleaned state; this peer's ops it lacks are pulled from the others",
		"why", why, "mark", a.floor, "numbering from", a.nextSeq)
}

// maxOwnSeq is the highest seq of the batch's local ops (0: none).
func (b batch) maxOwnSeq() uint64 {
	var s uint64
	for _, w := range b.waiters {
		for _, op := range w.ops {
			s = max(s, op.Seq)
		}
	}
	return s
}
