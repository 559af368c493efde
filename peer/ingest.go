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

// Allocate asks the allocator actor for the whole chunk in one round trip (one ranking of its
// live metrics); pins with replication -1 need no allocation.
func (d ingestDeps) Allocate(ctx context.Context, reqs []ingest.AllocRequest) ([][]libp2ppeer.ID, []error, error) {
	allocs := make([][]libp2ppeer.ID, len(reqs))
	errs := make([]error, len(reqs))
	var ask []allocator.Request
	var at []int
	for i, r := range reqs {
		if r.Opts.ReplicationFactorMin == -1 {
			allocs[i] = []libp2ppeer.ID{}
			continue
		}
		ask = append(ask, allocator.Request{Cid: r.Cid, Min: r.Opts.ReplicationFactorMin, Max: r.Opts.ReplicationFactorMax,
			Current: r.Current, User: r.Opts.UserAllocations})
		at = append(at, i)
	}
	if len(ask) == 0 {
		return allocs, errs, nil
	}
	got, gotErrs, err := d.p.allocator.AllocateMany(ctx, ask)
	if err != nil {
		return nil, nil, err
	}
	for k, i := range at {
		allocs[i], errs[i] = got[k], gotErrs[k]
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
