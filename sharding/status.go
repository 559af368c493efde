package sharding

import (
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// severity orders statuses for Aggregate: the worst state of any part is the state of the
// whole on that peer.
var severity = []api.TrackerStatus{
	api.TrackerStatusClusterError,
	api.TrackerStatusPinError,
	api.TrackerStatusUnpinError,
	api.TrackerStatusUnexpectedlyUnpinned,
	api.TrackerStatusUndefined,
	api.TrackerStatusPinning,
	api.TrackerStatusPinQueued,
	api.TrackerStatusUnpinning,
	api.TrackerStatusUnpinQueued,
	api.TrackerStatusUnpinned,
	api.TrackerStatusPinned,
	api.TrackerStatusSharded,
	api.TrackerStatusRemote,
}

func rank(s api.TrackerStatus) int {
	if i := slices.Index(severity, s); i >= 0 {
		return i
	}
	return 0
}

// Aggregate is the status of a meta-pin from its own (meta) and its shards' (in order): on
// each peer, the worst status of the parts it holds, with the failing shard named in the
// error; "sharded" (IPFS Cluster's status of a meta-pin) where every part it holds is pinned;
// "remote" where it holds none. Allocations are every peer holding a part.
func Aggregate(meta api.GlobalPinInfo, shards []api.GlobalPinInfo) api.GlobalPinInfo {
	out := meta
	out.PeerMap = map[string]api.PinInfoShort{}
	allocs := slices.Clone(meta.Allocations)
	worst := map[string]api.PinInfoShort{}
	fold := func(part string, g api.GlobalPinInfo) {
		for _, a := range g.Allocations {
			if !slices.Contains(allocs, a) {
				allocs = append(allocs, a)
			}
		}
		for p, st := range g.PeerMap {
			if _, ok := out.PeerMap[p]; !ok {
				out.PeerMap[p] = api.PinInfoShort{PeerName: st.PeerName, IPFS: st.IPFS, IPFSAddresses: st.IPFSAddresses, Status: api.TrackerStatusRemote, TS: st.TS}
			}
			if st.Status == api.TrackerStatusRemote {
				continue
			}
			w, ok := worst[p]
			if ok && rank(w.Status) <= rank(st.Status) {
				continue
			}
			if st.Status != api.TrackerStatusPinned {
				st.Error = fmt.Sprintf("%s: %s", part, orStatus(st))
			}
			worst[p] = st
		}
	}
	fold("meta-pin "+meta.Cid.String(), meta)
	for i, g := range shards {
		fold(fmt.Sprintf("shard %d (%s)", i, g.Cid), g)
	}
	for p, st := range worst {
		if st.Status == api.TrackerStatusPinned {
			st.Status = api.TrackerStatusSharded
		}
		out.PeerMap[p] = st
	}
	slices.SortFunc(allocs, func(a, b peer.ID) int {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
	out.Allocations = allocs
	return out
}

func orStatus(st api.PinInfoShort) string {
	if st.Error != "" {
		return st.Error
	}
	return st.Status.String()
}
