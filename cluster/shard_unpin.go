package cluster

import (
	"context"
	"fmt"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// unpinSharded unpins a pin of a sharding type (PinService.Unpin). The meta-pin stands for
// the whole DAG: its unpin removes it, its cluster-DAG and every shard in one pinset change,
// so the pinset never holds part of a sharded DAG. A shard or cluster-DAG alone is refused:
// removing it would leave the meta-pin naming content the cluster no longer holds. When the
// shards cannot be read (the cluster-DAG is unreadable), nothing is unpinned.
func (s *PinService) unpinSharded(ctx context.Context, pin api.Pin) (api.Pin, error) {
	switch pin.TypeOrData() {
	case api.PinTypeShard:
		return api.Pin{}, fmt.Errorf("%w: %s is a shard of a sharded add: unpin its meta-pin (pin ls --filter meta-pin), which removes every shard", api.ErrInvalid, pin.Cid)
	case api.PinTypeClusterDAG:
		meta := "its meta-pin"
		if pin.Reference != nil {
			meta = "its meta-pin " + pin.Reference.String()
		}
		return api.Pin{}, fmt.Errorf("%w: %s is the cluster-DAG of a sharded add: unpin %s, which removes every shard", api.ErrInvalid, pin.Cid, meta)
	}
	dag, shards, err := shardsOf(ctx, s.d, pin)
	if err != nil {
		return api.Pin{}, fmt.Errorf("unpin %s: %w; nothing was unpinned", pin.Cid, err)
	}
	changes := make([]messages.Change, 0, len(shards)+2)
	for _, c := range shards {
		changes = append(changes, messages.Change{Kind: crdt.OpUnpin, Pin: api.Pin{Cid: c}})
	}
	changes = append(changes, messages.Change{Kind: crdt.OpUnpin, Pin: api.Pin{Cid: dag}}, messages.Change{Kind: crdt.OpUnpin, Pin: api.Pin{Cid: pin.Cid}})
	if _, err := s.d.Pinset.Commit(ctx, changes...); err != nil {
		return api.Pin{}, err
	}
	return pin, nil
}

// refuseRepinSharded is the error of a pin of a CID that a sharded add pinned: pinning it as
// an ordinary pin would make its allocations fetch the whole DAG.
func refuseRepinSharded(existing api.Pin) error {
	return fmt.Errorf("%w: %s is a %s of a sharded add; unpin the meta-pin first to pin it whole", api.ErrInvalid, existing.Cid, existing.TypeOrData())
}
