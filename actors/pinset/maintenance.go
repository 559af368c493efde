package pinset

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/api"
)

// defaultMaintenanceTimeout bounds a snapshot page or a collection when ctx has no deadline:
// a collection over a large pinset takes a while.
const defaultMaintenanceTimeout = 10 * time.Minute

// ask sends a maintenance message and returns the reply, mapping timeouts and a stopped actor
// to the package's errors.
func (p *Pinset) ask(ctx context.Context, what string, msg any) (any, error) {
	timeout := defaultMaintenanceTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return nil, fmt.Errorf("pinset %s: %w", what, api.ErrTimeout)
		}
	}
	res, err := ask.Request(ctx, p.system, p.pid, msg, timeout)
	switch {
	case errors.Is(err, actor.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("pinset %s did not finish in %s: %w", what, timeout, api.ErrTimeout)
	case errors.Is(err, actor.ErrDeadLetter):
		return nil, ErrStopped
	}
	return res, err
}

// InstallSnapshotPage merges one snapshot page and prunes its range (InstallSnapshotPage);
// it returns once the page is durable.
func (p *Pinset) InstallSnapshotPage(ctx context.Context, page *InstallSnapshotPage) error {
	res, err := p.ask(ctx, "snapshot install", page)
	if err != nil {
		return err
	}
	reply, ok := res.(*SnapshotPageInstalled)
	if !ok {
		return fmt.Errorf("pinset: unexpected reply %T", res)
	}
	return reply.Err
}

// RaiseVersionVector records that every op up to vv is held (RaiseVersionVector).
func (p *Pinset) RaiseVersionVector(ctx context.Context, vv map[peer.ID]uint64) error {
	res, err := p.ask(ctx, "version vector raise", &RaiseVersionVector{VV: vv})
	if err != nil {
		return err
	}
	reply, ok := res.(*VersionVectorRaised)
	if !ok {
		return fmt.Errorf("pinset: unexpected reply %T", res)
	}
	return reply.Err
}

// CollectTombstones records the excluded members and drops the tombstones up to upTo but
// those of the CIDs keep names (CollectTombstones).
func (p *Pinset) CollectTombstones(ctx context.Context, upTo map[peer.ID]uint64, exclude []peer.ID, keep func(cid []byte) bool) (*TombstonesCollected, error) {
	res, err := p.ask(ctx, "tombstone collection", &CollectTombstones{UpTo: upTo, Exclude: exclude, Keep: keep})
	if err != nil {
		return nil, err
	}
	reply, ok := res.(*TombstonesCollected)
	if !ok {
		return nil, fmt.Errorf("pinset: unexpected reply %T", res)
	}
	return reply, reply.Err
}

// DropAfterCutoff removes the records of origin's ops after cutoff (a removed member's ops
// that arrived before its removal was known), through the actor like every write. It returns
// how many records it removed.
func (p *Pinset) DropAfterCutoff(ctx context.Context, origin peer.ID, cutoff uint64) (int, error) {
	res, err := p.ask(ctx, "dropping a removed peer's later ops", &DropAfterCutoff{Origin: origin, Cutoff: cutoff})
	if err != nil {
		return 0, err
	}
	reply, ok := res.(*DroppedAfterCutoff)
	if !ok {
		return 0, fmt.Errorf("pinset: unexpected reply %T", res)
	}
	return reply.Dropped, reply.Err
}
