package tracker

import (
	"context"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/persistence"
)

// Queue is the tracker's durable queue of pending work (persistence.Store satisfies it, in
// the pinset's Badger database under its own keys). The tracker actor is its only writer;
// WriteQueue and QueuePage run in the tracker's I/O workers, never in its mailbox.
type Queue interface {
	// WriteQueue applies ops in order and returns what it stored (see persistence.QueueOp).
	// It blocks on a Badger commit. max > 0 refuses puts of new CIDs beyond max queued.
	WriteQueue(ops []persistence.QueueOp, max int) (persistence.QueueResult, error)
	// QueuePage returns up to limit queued entries after seq after, in queue order.
	QueuePage(after uint64, limit int) ([]persistence.QueueEntry, error)
	// QueueGet returns the CID's queued or failed entry. Safe concurrently with writes.
	QueueGet(c api.Cid) (persistence.QueueEntry, bool, error)
	// QueueLen is the number of queued CIDs (failed ones excluded).
	QueueLen() int
	// QueueBatched is the number of CIDs in batch entries (batch.go).
	QueueBatched() int
	// IterateQueue streams every queued entry then every failed one.
	IterateQueue(ctx context.Context, fn func(persistence.QueueEntry) error) error
}

var _ Queue = (*persistence.Store)(nil)
