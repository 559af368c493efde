package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// StatusService tells where pins stand on this peer and across the cluster, and recovers them.
type StatusService struct {
	d   Deps
	fan *fanout
}

// statusPage is how many pins one fan-out round asks each member about.
const statusPage = 500

// LocalInfo is this peer's status of c: from the pinset when c is in it, else what the tracker
// still holds (an unpin in flight) or unpinned.
func (s *StatusService) LocalInfo(ctx context.Context, c api.Cid) (api.PinInfo, error) {
	pin, ok, err := s.d.Store.GetPin(c)
	if err != nil {
		return api.PinInfo{}, err
	}
	if !ok {
		return s.d.Tracker.StatusUnknown(ctx, c)
	}
	return s.d.Tracker.Status(ctx, pin)
}

// statusOf asks every member for the status of cids (this peer answers itself) and merges the
// answers; a member that does not answer shows cluster_error.
func (s *StatusService) statusOf(ctx context.Context, cids []api.Cid, local bool) ([]api.GlobalPinInfo, error) {
	out := make([]api.GlobalPinInfo, len(cids))
	for i, c := range cids {
		pi, err := s.LocalInfo(ctx, c)
		if err != nil {
			return nil, err
		}
		out[i].Add(pi)
	}
	if local {
		return out, s.aggregateSharded(ctx, out, local)
	}
	s.askPage(ctx, s.fan.others(ctx, nil), cids, out)
	// A pin allocated to a peer that is not a member (down for long, or removed) shows it as
	// cluster_error rather than hiding it.
	for i := range out {
		for _, a := range out[i].Allocations {
			if _, ok := out[i].PeerMap[a.String()]; !ok {
				out[i].PeerMap[a.String()] = s.fan.clusterError(a, "peer is not reachable")
			}
		}
	}
	return out, s.aggregateSharded(ctx, out, local)
}

// askPage asks the members to for their status of cids, one request each, and adds each
// part to out (cids[i]'s status is out[i]); a member that does not answer is cluster_error
// for every CID. It returns those, with why (nil: all answered).
func (s *StatusService) askPage(ctx context.Context, to []peer.ID, cids []api.Cid, out []api.GlobalPinInfo) map[peer.ID]string {
	strs := make([]string, len(cids))
	for i, c := range cids {
		strs[i] = c.String()
	}
	var failed map[peer.ID]string
	askStatus(ctx, s.fan, to, &messages.StatusRequest{Cids: strs}, RPCTimeout, len(cids), func(id peer.ID, infos []api.PinInfo, err string) {
		if err != "" {
			for i := range out {
				out[i].Add(api.PinInfo{Cid: cids[i], Peer: id, PinInfoShort: s.fan.clusterError(id, err)})
			}
			if failed == nil {
				failed = map[peer.ID]string{}
			}
			failed[id] = err
			return
		}
		for i, pi := range infos {
			out[i].Add(pi)
		}
	})
	return failed
}

// Status returns the status of c on every member (only this peer when local): the other
// members' parts from the replica of their status digests when the peer keeps one
// (digeststatus.go), else asked of them.
func (s *StatusService) Status(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error) {
	if !local && s.d.Digests != nil {
		gs, err := s.replicaStatusOf(ctx, []api.Cid{c})
		if err != nil {
			return api.GlobalPinInfo{}, err
		}
		return gs[0], nil
	}
	return s.statusAsking(ctx, c, local)
}

// StatusFresh is Status asking every member now (status --fresh).
func (s *StatusService) StatusFresh(ctx context.Context, c api.Cid) (api.GlobalPinInfo, error) {
	return s.statusAsking(ctx, c, false)
}

func (s *StatusService) statusAsking(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error) {
	gs, err := s.statusOf(ctx, []api.Cid{c}, local)
	if err != nil {
		return api.GlobalPinInfo{}, err
	}
	return gs[0], nil
}

// StatusAll streams the status of every pin (or of cids) that matches filter (0: all). Global
// status answers from the replica of the other members' status digests when the peer keeps
// one (replicaStatusAll: no network), else as StatusAllFresh. Memory stays bounded whatever
// the pinset's size.
func (s *StatusService) StatusAll(ctx context.Context, filter api.TrackerStatus, local bool, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	if !local && s.d.Digests != nil {
		return s.replicaStatusAll(ctx, filter, cids, fn)
	}
	return s.statusAllAsking(ctx, filter, local, cids, fn)
}

// StatusAllFresh is global StatusAll asking every member now (status --fresh, ?fresh=true).
func (s *StatusService) StatusAllFresh(ctx context.Context, filter api.TrackerStatus, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	return s.statusAllAsking(ctx, filter, false, cids, fn)
}

// emitMatching hands fn the statuses of page (from statuses) that match filter.
func emitMatching(page []api.Cid, statuses func([]api.Cid) ([]api.GlobalPinInfo, error), filter api.TrackerStatus, fn func(api.GlobalPinInfo) error) error {
	gs, err := statuses(page)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if g.Match(filter) {
			if err := fn(g); err != nil {
				return err
			}
		}
	}
	return nil
}

// statusAllAsking is StatusAll asking the members: a page of pins at a time; local status of
// the whole pinset is one merged pass (localStatusAll).
func (s *StatusService) statusAllAsking(ctx context.Context, filter api.TrackerStatus, local bool, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	if local && len(cids) == 0 {
		return s.localStatusAll(ctx, filter, fn)
	}
	emitPage := func(page []api.Cid) error {
		return emitMatching(page, func(p []api.Cid) ([]api.GlobalPinInfo, error) { return s.statusOf(ctx, p, local) }, filter, fn)
	}
	if len(cids) > 0 {
		for page := range slices.Chunk(cids, statusPage) {
			if err := emitPage(page); err != nil {
				return err
			}
		}
		return nil
	}
	var elsewhere func(*unpinsInFlight) error
	if s.d.Digests != nil {
		ps, err := s.digestParts(ctx)
		if err != nil {
			return err
		}
		elsewhere = ps.unpinsElsewhereNow(ctx, s.d.Digests, filter)
	}
	return s.pinsetPages(ctx, filter, elsewhere, fn, func(p []api.Cid) ([]api.GlobalPinInfo, error) { return s.statusOf(ctx, p, local) })
}

// pinsetPages streams the status of every pin of the pinset that matches filter, and of the
// CIDs this peer (and, through elsewhere when not nil, another member) is still unpinning that
// the pinset no longer holds (unpins.go), statusPage CIDs at a time in key order, each page's
// status told by of.
func (s *StatusService) pinsetPages(ctx context.Context, filter api.TrackerStatus, elsewhere func(*unpinsInFlight) error,
	fn func(api.GlobalPinInfo) error, of func([]api.Cid) ([]api.GlobalPinInfo, error)) error {
	// The unpins in flight, read before the pinset and merged into its walk as localPass
	// does (unpins.go).
	var unpins unpinsInFlight
	if err := s.d.Tracker.InFlight(ctx, func(c api.Cid, st api.PinInfoShort) error {
		unpins.add(c, c.KeyString(), st)
		return nil
	}); err != nil {
		return err
	}
	if elsewhere != nil {
		if err := elsewhere(&unpins); err != nil {
			return err
		}
	}
	// A CID the walk lists for its unpins may be done with everywhere by the time its page is
	// asked: such a row is left out (allUnpinned).
	if emit := fn; !unpins.empty() {
		fn = func(g api.GlobalPinInfo) error {
			if allUnpinned(g) {
				return nil
			}
			return emit(g)
		}
	}
	page := make([]api.Cid, 0, statusPage)
	add := func(c api.Cid) error {
		if page = append(page, c); len(page) < statusPage {
			return nil
		}
		err := emitMatching(page, of, filter, fn)
		page = page[:0]
		return err
	}
	gone := unpins.cursor()
	addGone := func(_, _ []byte, _ api.PinInfoShort, c api.Cid) error { return add(c) }
	err := s.d.Store.IteratePinsJSON(ctx, func(c api.Cid, _ []byte) error {
		if gone.pending() { // c.Bytes copies: not per pin when nothing is left to merge
			if err := gone.before(c.Bytes(), addGone); err != nil {
				return err
			}
		}
		return add(c)
	})
	if err == nil {
		err = gone.before(nil, addGone)
	}
	if err != nil {
		return err
	}
	if len(page) > 0 {
		return emitMatching(page, of, filter, fn)
	}
	return nil
}

// StatusLocal answers a member's StatusRequest: this peer's status of each CID, in order.
func (s *StatusService) StatusLocal(ctx context.Context, cids []string) ([]api.PinInfo, error) {
	out := make([]api.PinInfo, 0, len(cids))
	for _, str := range cids {
		c, err := api.DecodeCid(str)
		if err != nil {
			return nil, err
		}
		pi, err := s.LocalInfo(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, pi)
	}
	return out, nil
}

// RecoverLocal retries c on this peer where it is in error and waits for that attempt.
func (s *StatusService) RecoverLocal(ctx context.Context, c api.Cid) (api.PinInfo, error) {
	pin, ok, err := s.d.Store.GetPin(c)
	if err != nil {
		return api.PinInfo{}, err
	}
	if ok {
		return s.d.Tracker.Recover(ctx, pin)
	}
	// Not in the pinset: an unpin may have failed here; retry it. Otherwise there is nothing
	// to retry here: its status (unpinned, or an unpin under way) is the answer, so that a
	// recover of a CID whose unpin failed on another peer shows this one as it is.
	return s.d.Tracker.RecoverUnpin(ctx, c)
}

// Recover retries c where it is in error (on every allocated member unless local) and waits.
func (s *StatusService) Recover(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error) {
	if err := s.recoverShards(ctx, c, local); err != nil { // a meta-pin's parts first
		return api.GlobalPinInfo{}, err
	}
	pi, err := s.RecoverLocal(ctx, c)
	if err != nil {
		return api.GlobalPinInfo{}, err
	}
	g := global(pi)
	if local {
		return s.aggregateOne(ctx, g, local)
	}
	allocated := func(id peer.ID) bool { return len(pi.Allocations) == 0 || slices.Contains(pi.Allocations, id) }
	others := s.fan.others(ctx, allocated)
	refused := askStatus(ctx, s.fan, others, &messages.RecoverRequest{Cid: c.String()}, 0, 1, func(id peer.ID, infos []api.PinInfo, err string) {
		if err != "" {
			g.Add(api.PinInfo{Cid: c, Peer: id, PinInfoShort: s.fan.clusterError(id, err)})
			return
		}
		g.Add(infos[0])
	})
	if err := refusedByAll(len(others), refused, s.d.Members.Self(), "recover"); err != nil {
		return api.GlobalPinInfo{}, err
	}
	return s.aggregateOne(ctx, g, local)
}

// RecoverAll recovers every item in error on this peer and, unless local, asks every other
// member to recover its own; it streams each outcome as it ends (fn is never called
// concurrently). Members that could not recover (down, paused) are named in the error
// returned once every other outcome is streamed.
func (s *StatusService) RecoverAll(ctx context.Context, local bool, fn func(api.GlobalPinInfo) error) error {
	_, err := s.RecoverAllLocal(ctx, fn)
	if err != nil || local {
		return err
	}
	var first error
	var failed []string
	others := s.fan.others(ctx, nil)
	refused := askStatus(ctx, s.fan, others, &messages.RecoverAllRequest{}, 0, -1, func(id peer.ID, infos []api.PinInfo, err string) {
		if err != "" {
			s.d.Log.Warn("recover: a peer could not recover its items", "peer", id, "err", err)
			failed = append(failed, fmt.Sprintf("%s: %s", s.fan.members.PeerName(id), err))
			return
		}
		for _, pi := range infos {
			if first == nil {
				first = fn(global(pi))
			}
		}
	})
	if first == nil {
		first = refusedByAll(len(others), refused, s.d.Members.Self(), "recover")
	}
	if first == nil && len(failed) > 0 {
		// After every outcome that came: the caller learns which peers recovered nothing.
		slices.Sort(failed)
		first = fmt.Errorf("%w: %d of %d other peers could not recover their items: %s", api.ErrUnavailable, len(failed), len(others), strings.Join(failed, "; "))
	}
	return first
}

// RecoverAllLocal retries every item in error on this peer, as many at once as the tracker has
// slots (each waits for its attempt, up to pin_timeout), and hands each outcome to fn as it ends
// (never concurrently). A nil fn collects them. It also asks for a state sync (Deps.Resync),
// which re-queues the pins allocated here that the IPFS node lost (unexpectedly_unpinned: the
// tracker holds no item for them), as IPFS Cluster's recover does: a pass over the pinset and
// one pin listing of the node, run by the healer in turn with the other passes rather than in
// the request (a peer asked by another answers within the request's timeout, in one message
// of bounded size, whatever the pinset).
func (s *StatusService) RecoverAllLocal(ctx context.Context, fn func(api.GlobalPinInfo) error) ([]api.PinInfo, error) {
	if s.d.Resync != nil {
		s.d.Resync()
	}
	var errored []api.Cid
	err := s.d.Tracker.InFlight(ctx, func(c api.Cid, st api.PinInfoShort) error {
		if st.Status.Match(api.TrackerStatusError | api.TrackerStatusUnexpectedlyUnpinned) {
			errored = append(errored, c) // bounded by the tracker's queue size
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []api.PinInfo
	err = recoverEach(ctx, errored, s.d.Config.ConcurrentPins, func(ctx context.Context, c api.Cid) (api.PinInfo, error) {
		pi, err := s.RecoverLocal(ctx, c)
		if err != nil {
			pi, err = s.LocalInfo(ctx, c)
		}
		return pi, err
	}, func(pi api.PinInfo) error {
		if fn == nil {
			out = append(out, pi)
			return nil
		}
		return fn(global(pi))
	})
	return out, err
}

func global(pi api.PinInfo) api.GlobalPinInfo {
	var g api.GlobalPinInfo
	g.Add(pi)
	return g
}
