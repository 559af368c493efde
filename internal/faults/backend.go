package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// backend delays and/or fails Pin and Unpin as the faults say; every other call passes through.
type backend struct {
	ipfs.Backend
	f *Faults
}

var _ ipfs.Backend = backend{}

// WrapBackend wraps the daemon's IPFS backend with the IPFS faults (ipfs_delay, ipfs_fail).
func (f *Faults) WrapBackend(b ipfs.Backend) ipfs.Backend { return backend{Backend: b, f: f} }

func (b backend) Pin(ctx context.Context, c api.Cid, mode api.PinMode, progress ipfs.PinProgress) error {
	if err := b.f.ipfsFault(ctx, "pin", c); err != nil {
		return err
	}
	return b.Backend.Pin(ctx, c, mode, progress)
}

func (b backend) Unpin(ctx context.Context, c api.Cid) error {
	if err := b.f.ipfsFault(ctx, "unpin", c); err != nil {
		return err
	}
	return b.Backend.Unpin(ctx, c)
}

// ipfsFault waits ipfs_delay (or until ctx ends) and then fails when ipfs_fail is set.
func (f *Faults) ipfsFault(ctx context.Context, what string, c api.Cid) error {
	cfg := f.state.Load().cfg
	if d := cfg.IPFSDelay.D(); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if cfg.IPFSFail {
		return fmt.Errorf("%w: %s %s", ErrIPFS, what, c)
	}
	return nil
}
