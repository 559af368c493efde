package batcher

import (
	"context"
	"log/slog"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// Unpublished reads this peer's own ops that are durable but maybe not broadcast
// (persistence.Store).
type Unpublished interface {
	// Published is the highest own seq published (SetPublished's mark).
	Published(origin peer.ID) (uint64, error)
	LastSeq(origin peer.ID) (uint64, error)
	OpsFrom(ctx context.Context, origin peer.ID, fromSeq uint64, fn func(crdt.Op) error) error
}

// republishChunk is how many ops the republish worker hands over at a time.
const republishChunk = 1024

// Republish hands the batcher self's ops that were durable but not yet broadcast when the peer
// last stopped (crash included): ops in (published, last seq]. The reading runs in an I/O
// worker (a large gap is a long read), which Stop cancels and waits for.
func (b *Batcher) Republish(src Unpublished, self peer.ID, log *slog.Logger) {
	b.src.Store(&src)
	if log == nil {
		log = b.log
	}
	b.workers.Add(1)
	go func() {
		defer b.workers.Done()
		republish(b.ctx, src, self, b.Publish, log)
	}()
}

func republish(ctx context.Context, src Unpublished, self peer.ID, publish func([]crdt.Op), log *slog.Logger) {
	published, err := src.Published(self)
	if err != nil {
		log.Warn("republish: reading the published mark", "err", err)
		return
	}
	last, err := src.LastSeq(self)
	if err != nil || last <= published {
		return
	}
	var batch []crdt.Op
	err = src.OpsFrom(ctx, self, published+1, func(op crdt.Op) error {
		batch = append(batch, op)
		if len(batch) >= republishChunk {
			publish(batch)
			batch = nil
		}
		return nil
	})
	publish(batch)
	if err != nil {
		log.Warn("republish", "err", err)
		return
	}
	log.Info("republishing ops not broadcast before the last stop", "ops", last-published)
}

// republishAfterCrash is a restarted instance's start: the crashed one's buffer is gone, so
// the ops after the published mark go out again (receivers drop what they already hold).
func (b *Batcher) republishAfterCrash() {
	if src := b.src.Load(); src != nil && b.ctx.Err() == nil {
		b.Republish(*src, b.self, b.log)
	}
}
