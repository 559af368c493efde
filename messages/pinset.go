package messages

import (
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// Change is a local change to the pinset asked by a client: pin (with the full pin object) or
// unpin. The pinset actor turns it into an Op with the next seq and clock.
type Change struct {
	Kind crdt.OpKind
	Pin  api.Pin // for OpUnpin only Pin.Cid is used
	// After makes the change conditional (crdt.Rank): the rank of the CID's live record it
	// was made from. The pinset drops the change, uncommitted and without an error (it is
	// missing from ChangesCommitted.Ops), when that record has moved on by the time it is
	// written. Zero: a plain change, which wins over the record whatever it is.
	After crdt.Rank
	// PinJSON is Pin's JSON, encoded by the caller so that the encoding runs on the callers'
	// goroutines rather than in the single pinset actor. Empty: the actor encodes it.
	PinJSON []byte
}

// CommitChanges asks the pinset actor to make changes durable. The reply is ChangesCommitted.
type CommitChanges struct {
	Changes []Change
}

// ChangesCommitted answers CommitChanges once the ops are durable (or failed).
type ChangesCommitted struct {
	Ops []crdt.Op
	Err error
}

// ApplyRemoteOps asks the pinset actor to merge ops received from other peers (already verified).
// No reply.
type ApplyRemoteOps struct {
	Ops []crdt.Op
}

// PinsetChanged is published after ops changed the pinset (winners under last-writer-wins),
// local or remote.
type PinsetChanged struct {
	Ops   []crdt.Op
	Local bool
	// Pins holds, for local changes, the decoded pin of each OpPin op (nil otherwise), so
	// listeners need not decode PinJSON again.
	Pins []*api.Pin
	// Created[i] says Ops[i] made a record where its CID had none (not even a tombstone): what
	// is kept about the CID's earlier records (the status digest) is, but for rare leftovers,
	// absent too (tracker.batchOut). Shorter
	// than Ops (nil, say): the rest are not known to have.
	Created []bool
	// Unheld[i] says Ops[i] is an unpin over no live record this peer held (crdt.Unheld): the
	// cluster never pinned its CID on this peer's IPFS node, whose pin of it (if any) is the
	// operator's and is left alone. Shorter than Ops: the rest are not.
	Unheld []bool
}
