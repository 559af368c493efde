// Package pinset holds the pinset actor: the single writer of the replicated pinset. It turns
// local changes into ops (next per-origin seq, hybrid logical clock), merges remote ops, and
// makes both durable through the Store with group commit: while one write is in flight, new
// requests accumulate and go out together in the next write, so throughput grows with load
// while each request still waits only for its own fsync (or write, without sync_writes).
// Snapshot installs from the syncer and tombstone collection from the collector are writes
// too: they arrive as messages and run on the same writer, after the pending group commit
// (install.go), so nothing else writes the pinset.
//
// A change is acknowledged (ChangesCommitted) only after Store.Apply returned: a crash right
// after the reply loses nothing. Reads do not go through the actor: Store reads are safe
// concurrently with the writer.
package pinset

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/persistence"
)

// Store is the durable pinset (persistence.Store satisfies it).
type Store interface {
	// Apply records ops durably and merges them with last-writer-wins; it returns per op
	// whether the pinset changed, and whether the op made a record where the CID had none.
	// It is only called from one goroutine at a time.
	Apply(ops []crdt.Op) ([]crdt.Effect, error)
	// LastSeq is the highest seq stored for origin.
	LastSeq(origin peer.ID) (uint64, error)
	// Applied is origin's version vector entry: every op of origin up to it is stored.
	Applied(origin peer.ID) (uint64, error)
	// MaxClock is the greatest clock stored.
	MaxClock() (crdt.HLC, error)
	// Get is c's record (found false: none); the actor reads it to check a conditional
	// change (messages.Change.After) before numbering it.
	Get(c api.Cid) (rec persistence.Record, found bool, err error)
	// Maintenance installs snapshots and collects tombstones (install.go); like Apply, it is
	// only called from one goroutine at a time.
	Maintenance
}

// Subscribe adds a subscriber: from then on the pinset actor sends it a messages.PinsetChanged
// (a value, no reply expected) after every write that changed the pinset, local changes and
// remote ones in separate events, in commit order, before any requester of that write is
// answered. Subscribing twice is a no-op; a stopped subscriber's events go to dead letters.
type Subscribe struct {
	PID *actor.PID
}
