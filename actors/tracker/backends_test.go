package tracker

import (
	"context"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/ipfs/fake"
)

// panicBackend panics on every Pin, to check that a panic is a supervised failure.
type panicBackend struct{ *fake.Backend }

func (p *panicBackend) Pin(ctx context.Context, c api.Cid, mode api.PinMode, progress ipfs.PinProgress) error {
	panic("backend exploded")
}

// stallUnpinBackend blocks Unpin until release is closed.
type stallUnpinBackend struct {
	*fake.Backend
	release chan struct{}
}

func (s *stallUnpinBackend) Unpin(ctx context.Context, c api.Cid) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Backend.Unpin(ctx, c)
}
