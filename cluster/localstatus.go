package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// settledMask are the statuses that only the IPFS node's pin list can tell: a pin allocated
// here and not in flight.
const settledMask = api.TrackerStatusPinned | api.TrackerStatusUnexpectedlyUnpinned

// inFlightUnpin are the in-flight statuses shown even for a pin no longer allocated here.
const inFlightUnpin = api.TrackerStatusUnpinQueued | api.TrackerStatusUnpinning | api.TrackerStatusUnpinError

// localStatusAll streams this peer's status of every pin of the pinset matching filter in one
// pass (status --local): the pinset from Badger in key order, merged with the tracker's
// in-flight snapshot and one pin ls of the IPFS node (only when filter needs it), instead of a
// tracker request and an IPFS request per pin. The rule is the tracker's (Tracker.Status): in
// flight wins while allocated here (and for unpins in flight), then remote when not allocated
// here, then pinned or unexpectedly_unpinned from the node's pin list.
func (s *StatusService) localStatusAll(ctx context.Context, filter api.TrackerStatus, fn func(api.GlobalPinInfo) error) error {
	self := s.d.Members.Self()
	base := api.PinInfoShort{PeerName: s.d.Members.PeerName(self)}
	if id, err := s.d.IPFS.ID(ctx); err == nil {
		base.IPFS = id.ID
	}
	inFlight := map[api.Cid]api.PinInfoShort{} // bounded by the tracker's queue
	err := s.d.Tracker.InFlight(ctx, func(c api.Cid, st api.PinInfoShort) error {
		inFlight[c] = st
		return nil
	})
	if err != nil {
		return err
	}
	var pinned *pinTable
	var lsErr error
	if filter == 0 || filter&settledMask != 0 {
		pinned, lsErr = s.pinnedOnIPFS(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	selfKey := self.String()
	now := nowUTC()
	return s.d.Store.IteratePinsJSON(ctx, func(c api.Cid, js []byte) error {
		var pin api.Pin
		if err := json.Unmarshal(js, &pin); err != nil {
			return fmt.Errorf("stored pin of %s is not valid JSON: %w", c, err)
		}
		st, found := inFlight[c]
		allocated := pin.AllocatedTo(self)
		switch {
		case found && (allocated || st.Status&inFlightUnpin != 0):
		case !allocated:
			st = api.PinInfoShort{Status: api.TrackerStatusRemote}
		case lsErr != nil:
			st = api.PinInfoShort{Status: api.TrackerStatusClusterError, Error: fmt.Sprintf("cannot ask the IPFS node: %v", lsErr)}
		case pinned == nil: // filter wants no settled status: skip the pin ls
			return nil
		case pinned.has(c):
			st = api.PinInfoShort{Status: api.TrackerStatusPinned}
		default:
			st = api.PinInfoShort{Status: api.TrackerStatusUnexpectedlyUnpinned}
		}
		if !st.Status.Match(filter) {
			return nil
		}
		st.PeerName, st.IPFS = base.PeerName, base.IPFS
		if st.TS.IsZero() {
			st.TS = now
		}
		g := api.GlobalPinInfo{Cid: c, Name: pin.Name, Allocations: pin.Allocations, Origins: pin.Origins,
			Created: pin.Timestamp, Metadata: pin.Metadata, PeerMap: map[string]api.PinInfoShort{selfKey: st}}
		if g.Allocations == nil {
			g.Allocations = []peer.ID{}
		}
		if g.Origins == nil {
			g.Origins = []string{}
		}
		return fn(g)
	})
}

// pinTable is the set of roots pinned on the IPFS node as sorted 64-bit fingerprints: 8 bytes
// a pin, no allocation per pin, lookups by binary search.
type pinTable struct {
	seed maphash.Seed
	fps  []uint64
}

func (t *pinTable) fp(c api.Cid) uint64 { return maphash.String(t.seed, c.KeyString()) }

func (t *pinTable) has(c api.Cid) bool {
	_, ok := slices.BinarySearch(t.fps, t.fp(c))
	return ok
}

// pinnedOnIPFS reads the IPFS node's pin list once into a pinTable.
func (s *StatusService) pinnedOnIPFS(ctx context.Context) (*pinTable, error) {
	t := &pinTable{seed: maphash.MakeSeed()}
	err := s.d.IPFS.PinLs(ctx, func(c api.Cid, _ api.PinMode) error {
		t.fps = append(t.fps, t.fp(c))
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(t.fps)
	return t, nil
}
