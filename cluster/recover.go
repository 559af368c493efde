package cluster

import (
	"context"
	"sync"

	"github.com/pincluster/pincluster/api"
)

// recoverEach runs recover for each of cids, up to workers at once (each recovery waits for its
// attempt, up to pin_timeout, so one at a time would take that long per item), and hands each
// outcome to emit as it ends, never concurrently. The first error (of a recovery or of emit)
// stops the rest and is returned.
func recoverEach(ctx context.Context, cids []api.Cid, workers int, recover func(context.Context, api.Cid) (api.PinInfo, error), emit func(api.PinInfo) error) error {
	if len(cids) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		pi  api.PinInfo
		err error
	}
	jobs, results := make(chan api.Cid), make(chan outcome)
	var wg sync.WaitGroup
	for range min(len(cids), max(1, workers)) {
		wg.Go(func() {
			for c := range jobs {
				pi, err := recover(ctx, c)
				select {
				case results <- outcome{pi, err}:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() {
		defer close(jobs)
		for _, c := range cids {
			select {
			case jobs <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var first error
	for r := range results {
		if first != nil {
			continue // the workers stop; drain until they have
		}
		if first = r.err; first == nil {
			first = emit(r.pi)
		}
		if first != nil {
			cancel()
		}
	}
	return first
}
