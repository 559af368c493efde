package tracker

import (
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/persistence"
)

// Messages private to the tracker (its facade and I/O workers); the public conversation is in
// package messages.

// statusQuery asks for the window's state of a CID. Reply: statusReply.
type statusQuery struct{ cid api.Cid }

// statusReply: found when the CID is in the window; settled when it just settled and its
// durable entry is being removed (the durable queue must not be asked then).
type statusReply struct {
	info    api.PinInfoShort
	found   bool
	settled bool
}

// listQuery asks for the window (and, with writing, the queue puts not written yet). Reply:
// listReply.
type listQuery struct{ writing bool }

// listReply lists the window's items and the CIDs the durable queue may still show but that
// settled (skip them).
type listReply struct {
	items []inFlightItem
	skip  []api.Cid
	// writing are the CIDs of queue puts not written yet (pending or in flight): the queue may
	// still refuse them (TrackedSet counts them held: a refusal changes the incarnation).
	writing []api.Cid
	slots   int // slots of the pool taken (granted or running), for tests
}

type inFlightItem struct {
	cid  api.Cid
	info api.PinInfoShort
}

// recoverPin is RecoverPin with the CID's failed entry when it is out of the window.
type recoverPin struct {
	pin    api.Pin
	failed *persistence.QueueEntry
	// unpin: recover a failed unpin of a CID the pinset no longer holds (RecoverUnpin); an
	// item that is not an unpin by then is left as it is.
	unpin bool
}

// queueWritten reports a WriteQueue run of the writer goroutine.
type queueWritten struct {
	w   *writeBatch
	res persistence.QueueResult
	err error
}

// queuePaged reports a QueuePage run.
type queuePaged struct {
	from    *trackerActor // the incarnation that asked (a restarted tracker ignores others)
	entries []persistence.QueueEntry
	epoch   uint64 // the write epoch when the read started
	err     error
}
