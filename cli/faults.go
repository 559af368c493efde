package cli

import (
	"context"

	"github.com/pincluster/pincluster/internal/faults"
	"github.com/pincluster/pincluster/peer"
)

// faultHooks returns the peer's fault-injection hooks when PINCLUSTER_FAULTS names a fault
// file (the chaos harness sets it; see internal/faults), and no hooks otherwise.
func faultHooks(ctx context.Context) (peer.Options, error) {
	f, err := faults.FromEnv(ctx, nil)
	if err != nil || f == nil {
		return peer.Options{}, err
	}
	return peer.Options{ConnGater: f.Gater(), OnHost: f.Attach, ClockSource: f.Now,
		WrapBackend: f.WrapBackend, StoreWriteFault: f.StoreWriteFault}, nil
}
