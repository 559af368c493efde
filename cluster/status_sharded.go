package cluster

import (
	"context"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/sharding"
)

// aggregateSharded replaces the status of each meta-pin among gs with the aggregate of its
// shards (sharding.Aggregate: the worst state of its parts on each peer, "sharded" where they
// are all pinned), asking the same peers (local: this peer only). A meta-pin whose shards
// cannot be read keeps its own status, with the reason as this peer's error.
func (s *StatusService) aggregateSharded(ctx context.Context, gs []api.GlobalPinInfo, local bool) error {
	for i := range gs {
		pin, ok, err := s.d.Store.GetPin(gs[i].Cid)
		if err != nil {
			return err
		}
		if !ok || pin.TypeOrData() != api.PinTypeMeta {
			continue
		}
		_, shards, err := shardsOf(ctx, s.d, pin)
		if err != nil {
			self := s.d.Members.Self().String()
			st := gs[i].PeerMap[self]
			st.Status, st.Error = api.TrackerStatusClusterError, err.Error()
			gs[i].PeerMap[self] = st
			continue
		}
		parts, err := s.statusOf(ctx, shards, local)
		if err != nil {
			return err
		}
		gs[i] = sharding.Aggregate(gs[i], parts)
	}
	return nil
}
