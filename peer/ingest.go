package peer

import (
	"context"
	"fmt"
	"io"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/allocator"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/rest"
	"github.com/pincluster/pincluster/ingest"
	"github.com/pincluster/pincluster/messages"
)

// Batch ingest (POST /pins/batch) is the ingest package's service; this file only wires it to
// the peer's store, allocator inputs, queues and pinset actor.

var _ rest.Ingester = (*Peer)(nil)

// Ingest runs one batch (rest.Ingester).
func (p *Peer) Ingest(ctx context.Context, body io.Reader, op api.BatchOp, defaults api.PinOptions, emit func(api.BatchEvent) error) (api.BatchEvent, error) {
	svc := ingest.New(ingestDeps{p}, ingest.Config{
		ReplicationFactorMin: p.cfg.Cluster.ReplicationFactorMin,
		ReplicationFactorMax: p.cfg.Cluster.ReplicationFactorMax,
	})
	return svc.Run(ctx, body, ingest.Request{Op: op, Defaults: defaults}, emit)
}

// ingestDeps is ingest.Deps over the peer's parts.
type ingestDeps struct{ p *Peer }

var _ ingest.Deps = ingestDeps{}

func (d ingestDeps) Lookup(cids []api.Cid) ([]api.Pin, []bool, error) {
	pins := make([]api.Pin, len(cids))
	found := make([]bool, len(cids))
	for i, c := range cids {
		var err error
		if pins[i], found[i], err = d.p.store.GetPin(c); err != nil {
			return nil, nil, err
		}
	}
	return pins, found, nil
}

// Allocate ranks the candidates once per chunk and allocates every pin from that ranking, in
// this goroutine: the allocator actor would cost a round trip per pin for the same function.
func (d ingestDeps) Allocate(ctx context.Context, reqs []ingest.AllocRequest) ([][]libp2ppeer.ID, []error, error) {
	allocs := make([][]libp2ppeer.ID, len(reqs))
	errs := make([]error, len(reqs))
	var ranking *allocator.Ranking
	for i, r := range reqs {
		if r.Opts.ReplicationFactorMin == -1 {
			allocs[i] = []libp2ppeer.ID{}
			continue
		}
		if ranking == nil {
			candidates, err := d.p.candidates(ctx)
			if err != nil {
				return nil, nil, err
			}
			cfg := d.p.cfg.Allocator
			if len(cfg.AllocateBy) == 0 {
				cfg.AllocateBy = allocator.Default().AllocateBy
			}
			ranking = allocator.NewRanking(cfg, candidates)
		}
		allocs[i], errs[i] = ranking.Allocate(r.Cid, r.Opts.ReplicationFactorMin, r.Opts.ReplicationFactorMax, r.Current, r.Opts.UserAllocations, "")
	}
	return allocs, errs, nil
}

// Admit waits for room in the broadcast queue, and refuses when the tracker's queue is full.
func (d ingestDeps) Admit(ctx context.Context, n int) error {
	if err := d.p.batcher.WaitRoom(ctx, n); err != nil {
		return err
	}
	return d.p.tracker.Full()
}

func (d ingestDeps) Commit(ctx context.Context, changes []messages.Change) error {
	if _, err := d.p.pinset.Commit(ctx, changes...); err != nil {
		return fmt.Errorf("pinset commit: %w", err)
	}
	return nil
}
