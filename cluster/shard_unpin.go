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
	if err := api.RefuseUnpinPart(pin); err != nil {
		return api.Pin{}, err
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
