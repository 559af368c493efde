package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// Global status from the replica of the status digests (issue 12): every other member's part
// of a pin comes from this peer's replica of that member's digest (actors/statusdigest), read
// with one forward iterator per member alongside the pinset, so a global status costs one
// local status pass plus O(pins x allocations) local reads, and no network. The rules:
//   - a member the pin is not allocated to is remote, as when it is asked;
//   - a member whose replica is older than the ping TTL (Config.DigestTTL) is cluster_error
//     with the reason and its age in `updated`: a stale part is never shown as current;
//   - a member that never published a digest here (an earlier version during a rolling
//     upgrade, a follower outside trusted_peers, a peer that just joined) is asked for its
//     part, a page of CIDs per request, rather than shown as failing; one that does not
//     answer is cluster_error for the rest of the pass (digestParts.asked, askParts);
//   - otherwise its entry, with `updated` (when the replica was last current); a pin
//     allocated to it with no entry (it has not heard of the pin yet) is pin_queued;
//   - an allocation that is not a member is cluster_error, as with asking;
//   - a meta-pin (a sharded add) is asked of the members as before: its status is the
//     aggregate of its shards' (aggregateSharded), and meta-pins are few.
// --fresh (StatusAllFresh, StatusFresh) still asks every member.

// DigestReplica is this peer's replica of the other peers' status digests (persistence.Store,
// through the peer's adapter). Safe for concurrent use.
type DigestReplica interface {
	// DigestMeta is the version of the replica of p (found false: none).
	DigestMeta(p peer.ID) (m statusdigest.Meta, found bool, err error)
	// OpenDigestReader opens a read snapshot of the replicas; close it when done.
	OpenDigestReader() DigestReader
}

// DigestReader reads one snapshot of the replicas. Lookups are fastest in ascending binary
// CID order per peer (the pinset's). Not safe for concurrent use.
type DigestReader interface {
	// Lookup is p's entry for the binary CID c (found false: none).
	Lookup(p peer.ID, c []byte) (e statusdigest.Entry, found bool, err error)
	// LookupIn is Lookup bound to p, into *e (undefined when not found or on error): a pass
	// that asks every member for every pin finds each member's cursors once, not per call,
	// and copies no entry out.
	LookupIn(p peer.ID) func(c []byte, e *statusdigest.Entry) (found bool, err error)
	// Unpins calls fn with each binary CID (valid during fn) whose entry in p's replica is an
	// unpin in flight (queued, running or failed), and that status; an error from fn ends
	// the walk with it.
	Unpins(p peer.ID, fn func(c []byte, st api.TrackerStatus) error) error
	Close()
}

// digestPart is one other member's part of a replica status pass.
type digestPart struct {
	id      peer.ID
	key     string
	name    string    // the peername its heartbeats told (else Members.PeerName: its ID)
	ipfs    string    // its IPFS node's peer ID, as its heartbeats told ("": not told)
	stale   string    // why its replica cannot be shown ("": it can)
	updated time.Time // when its replica was last current
}

// digestParts is the version of every replica a status pass reads: the other members', read
// once per pass, and those of allocations that are not members, read when first met.
type digestParts struct {
	s       *StatusService
	members []digestPart
	// asked are the members that never published a digest here (a peer of an earlier
	// version during a rolling upgrade, a follower outside trusted_peers, whose digests are
	// ignored, a peer just joined): a pass asks them for their parts, a page of CIDs per
	// request, so that such a peer is never shown as failing, and reads the others' parts
	// from their replicas. They are not in members.
	asked []peer.ID
	// failed are the asked members that did not answer in this pass, with why.
	failed map[peer.ID]string
	others map[peer.ID]*digestPart // allocations that are not members (nil: none met)
	now    time.Time
	ttl    time.Duration
}

func (s *StatusService) digestParts(ctx context.Context) (*digestParts, error) {
	ps := &digestParts{s: s, now: time.Now(), ttl: s.d.Config.DigestTTL}
	if ps.ttl <= 0 {
		ps.ttl = 30 * time.Second
	}
	self := s.d.Members.Self()
	for _, id := range s.d.Members.Members(ctx) {
		if id == self {
			continue
		}
		p, found, err := ps.part(id)
		if err != nil {
			return nil, err
		}
		if !found {
			ps.asked = append(ps.asked, id)
			continue
		}
		ps.members = append(ps.members, p)
	}
	return ps, nil
}

// part reads the version of id's replica (found false: none).
func (ps *digestParts) part(id peer.ID) (digestPart, bool, error) {
	m, found, err := ps.s.d.Digests.DigestMeta(id)
	if err != nil {
		return digestPart{}, false, err
	}
	p := digestPart{id: id, key: id.String(), name: m.Peername, ipfs: m.IPFS}
	if p.name == "" { // not told (a peer of an earlier version, or no heartbeat yet)
		p.name = ps.s.d.Members.PeerName(id)
	}
	if found {
		p.stale, _ = m.Stale(ps.now, ps.ttl)
		p.updated = m.Updated.UTC()
	} else {
		p.stale, _ = (*statusdigest.Meta)(nil).Stale(ps.now, ps.ttl)
	}
	return p, found, nil
}

// elsewhereMayMatch reports whether a row of a CID only other members are still unpinning
// can match filter: its parts are unpinned, unpins or cluster_error.
func elsewhereMayMatch(filter api.TrackerStatus) bool {
	return filter == 0 || filter&(inFlightUnpin|api.TrackerStatusUnpinned|api.TrackerStatusClusterError) != 0
}

// unpinsElsewhere adds to a global pass's unpins the CIDs the current replicas show another
// member still unpinning (unpins.go), read from r before the pinset walk; nil when no row of
// such a CID can match filter.
func (ps *digestParts) unpinsElsewhere(ctx context.Context, r DigestReader, filter api.TrackerStatus) func(*unpinsInFlight) error {
	if !elsewhereMayMatch(filter) {
		return nil
	}
	return func(u *unpinsInFlight) error {
		add := func(c []byte, st api.TrackerStatus) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return u.addElsewhere(c, st)
		}
		for _, p := range ps.members {
			if p.stale != "" { // its entries may be long gone there: fillUnpinned shows it failing
				continue
			}
			if err := r.Unpins(p.id, add); errors.Is(err, errEnoughUnpins) {
				return nil
			} else if err != nil {
				return err
			}
		}
		return nil
	}
}

// unpinsElsewhereNow is unpinsElsewhere with a snapshot of d's replicas of its own, closed
// once the unpins are read (the pass itself may take long: it asks members).
func (ps *digestParts) unpinsElsewhereNow(ctx context.Context, d DigestReplica, filter api.TrackerStatus) func(*unpinsInFlight) error {
	if !elsewhereMayMatch(filter) {
		return nil
	}
	return func(u *unpinsInFlight) error {
		r := d.OpenDigestReader()
		defer r.Close()
		return ps.unpinsElsewhere(ctx, r, filter)(u)
	}
}

// nonMember is the part of an allocation that is not a member: cluster_error, with how old
// its replica is when there is one.
func (ps *digestParts) nonMember(id peer.ID) (*digestPart, error) {
	if p, ok := ps.others[id]; ok {
		return p, nil
	}
	if ps.others == nil {
		ps.others = map[peer.ID]*digestPart{}
	}
	p, _, err := ps.part(id)
	if err != nil {
		return nil, err
	}
	p.stale = "peer is not reachable"
	if !p.updated.IsZero() {
		p.stale += " (its last status digest is " + ps.now.Sub(p.updated).Round(time.Second).String() + " old)"
	}
	if len(ps.others) < 1024 {
		ps.others[id] = &p
	}
	return &p, nil
}

// fill adds every other member's part of pin (binary CID c) to g.
func (s *StatusService) fill(g *api.GlobalPinInfo, c []byte, ps *digestParts, r DigestReader, now time.Time) error {
	for _, p := range ps.members {
		if len(g.Allocations) > 0 && !slices.Contains(g.Allocations, p.id) {
			g.PeerMap[p.key] = api.PinInfoShort{PeerName: p.name, IPFS: p.ipfs, Status: api.TrackerStatusRemote, TS: now}
			continue
		}
		if p.stale != "" {
			g.PeerMap[p.key] = staleShort(p, now)
			continue
		}
		e, found, err := r.Lookup(p.id, c)
		if err != nil {
			return err
		}
		st := api.PinInfoShort{Status: api.TrackerStatusPinQueued, TS: p.updated}
		if found {
			st = e.Short()
		}
		st.PeerName, st.IPFS, st.Updated = p.name, p.ipfs, p.updated
		g.PeerMap[p.key] = st
	}
	for _, a := range g.Allocations {
		if _, ok := g.PeerMap[a.String()]; ok {
			continue
		}
		p, err := ps.nonMember(a)
		if err != nil {
			return err
		}
		g.PeerMap[p.key] = api.PinInfoShort{PeerName: p.name, IPFS: p.ipfs, Status: api.TrackerStatusClusterError, TS: now, Error: p.stale, Updated: p.updated}
	}
	return nil
}

// fillUnpinned adds every other member's part of a CID the pinset does not hold to g: its
// digest entry when it has one (a status it still keeps: an unpin queued, in progress or
// failed there), unpinned otherwise; a stale replica is cluster_error as in fill.
func (s *StatusService) fillUnpinned(g *api.GlobalPinInfo, c []byte, ps *digestParts, r DigestReader) error {
	now := nowUTC()
	for _, p := range ps.members {
		if p.stale != "" {
			g.PeerMap[p.key] = staleShort(p, now)
			continue
		}
		e, found, err := r.Lookup(p.id, c)
		if err != nil {
			return err
		}
		st := api.PinInfoShort{Status: api.TrackerStatusUnpinned, TS: p.updated}
		if found && e.Status != 0 {
			st = e.Short()
		}
		st.PeerName, st.IPFS, st.Updated = p.name, p.ipfs, p.updated
		g.PeerMap[p.key] = st
	}
	return nil
}

// replicaStatusAll is global StatusAll from the replicas: this peer's part from one local
// status pass, the others' from the replicas, in key order (or the cids asked, in order).
func (s *StatusService) replicaStatusAll(ctx context.Context, filter api.TrackerStatus, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	if len(cids) > 0 {
		for page := range slices.Chunk(cids, statusPage) {
			if err := emitMatching(page, func(p []api.Cid) ([]api.GlobalPinInfo, error) { return s.replicaStatusOf(ctx, p) }, filter, fn); err != nil {
				return err
			}
		}
		return nil
	}
	ps, err := s.digestParts(ctx)
	if err != nil {
		return err
	}
	if len(ps.asked) > 0 {
		return s.replicaPages(ctx, ps, filter, fn)
	}
	r := s.d.Digests.OpenDigestReader()
	defer r.Close()
	selfKey, now := s.d.Members.Self().String(), nowUTC()
	return s.localPassWith(ctx, 0, ps.unpinsElsewhere(ctx, r, filter), func(lp *localPin) error {
		var pin api.Pin
		if err := json.Unmarshal(lp.js, &pin); err != nil {
			return fmt.Errorf("stored pin is not valid JSON: %w", err)
		}
		if pin.TypeOrData() == api.PinTypeMeta {
			return s.shardedStatus(ctx, pin.Cid, filter, fn)
		}
		g := api.GlobalPinInfo{Cid: pin.Cid, Name: pin.Name, Allocations: orEmpty(pin.Allocations), Origins: orEmpty(pin.Origins),
			Created: pin.Timestamp, Metadata: pin.Metadata, PeerMap: make(map[string]api.PinInfoShort, len(ps.members)+1)}
		g.PeerMap[selfKey] = lp.st
		if err := s.fillPart(&g, lp, ps, r, now); err != nil {
			return err
		}
		if !g.Match(filter) || lp.gone && allUnpinned(g) { // done everywhere: a stale index key
			return nil
		}
		return fn(g)
	})
}

// replicaStatusOf is the status of cids: this peer's part asked of the tracker, the others'
// from the replicas.
func (s *StatusService) replicaStatusOf(ctx context.Context, cids []api.Cid) ([]api.GlobalPinInfo, error) {
	ps, err := s.digestParts(ctx)
	if err != nil {
		return nil, err
	}
	return s.replicaPage(ctx, cids, ps)
}

// replicaPages is a pass over the whole pinset a page at a time (replicaPage), for when some
// members are asked: the parts read once, so that a member that failed to answer one page is
// not waited for again on the next.
func (s *StatusService) replicaPages(ctx context.Context, ps *digestParts, filter api.TrackerStatus, fn func(api.GlobalPinInfo) error) error {
	return s.pinsetPages(ctx, filter, ps.unpinsElsewhereNow(ctx, s.d.Digests, filter), fn,
		func(p []api.Cid) ([]api.GlobalPinInfo, error) { return s.replicaPage(ctx, p, ps) })
}

// replicaPage is replicaStatusOf with the parts already read.
func (s *StatusService) replicaPage(ctx context.Context, cids []api.Cid, ps *digestParts) ([]api.GlobalPinInfo, error) {
	r := s.d.Digests.OpenDigestReader()
	defer r.Close()
	now := nowUTC()
	out := make([]api.GlobalPinInfo, len(cids))
	for i, c := range cids {
		pi, err := s.LocalInfo(ctx, c)
		if err != nil {
			return nil, err
		}
		out[i].Add(pi)
		if out[i].Allocations == nil {
			out[i].Allocations = []peer.ID{}
		}
		if _, inPinset, err := s.d.Store.GetPin(c); err != nil {
			return nil, err
		} else if !inPinset {
			// Unpinned: each member as its digest has it (an unpin still queued or failed
			// there, or its pin not yet undone), else unpinned, as IPFS Cluster's peers answer.
			if err := s.fillUnpinned(&out[i], c.Bytes(), ps, r); err != nil {
				return nil, err
			}
			continue
		}
		if err := s.fill(&out[i], c.Bytes(), ps, r, now); err != nil {
			return nil, err
		}
	}
	s.askParts(ctx, ps, cids, out)
	return out, s.aggregateSharded(ctx, out, false)
}

// askParts adds the parts of members without a replica here (digestParts.asked) to out, the
// status of cids (askPage). A member that does not answer is cluster_error, and is not asked
// again in the same pass (ps.failed): a stopped follower would otherwise cost a request
// timeout per page.
func (s *StatusService) askParts(ctx context.Context, ps *digestParts, cids []api.Cid, out []api.GlobalPinInfo) {
	for id, why := range ps.failed {
		for i := range out {
			out[i].Add(api.PinInfo{Cid: cids[i], Peer: id, PinInfoShort: s.fan.clusterError(id, why)})
		}
	}
	if len(ps.asked) == 0 {
		return
	}
	failed := s.askPage(ctx, ps.asked, cids, out)
	if len(failed) == 0 {
		return
	}
	if ps.failed == nil {
		ps.failed = map[peer.ID]string{}
	}
	maps.Copy(ps.failed, failed)
	ps.asked = slices.DeleteFunc(slices.Clone(ps.asked), func(id peer.ID) bool { _, ok := failed[id]; return ok })
}

// shardedStatus is the status of a meta-pin (a sharded add): the aggregate of its shards'
// statuses, asked of the members as statusOf does (meta-pins are few: one per sharded add).
func (s *StatusService) shardedStatus(ctx context.Context, c api.Cid, filter api.TrackerStatus, fn func(api.GlobalPinInfo) error) error {
	gs, err := s.statusOf(ctx, []api.Cid{c}, false)
	if err != nil || !gs[0].Match(filter) {
		return err
	}
	return fn(gs[0])
}

// LocalDigest streams this peer's status of every pin of the pinset in binary CID order, for
// the status digest actor's reconcile (actors/statusdigest.Local). It blocks for the pass.
func (s *StatusService) LocalDigest(ctx context.Context, fn func(cid []byte, st api.PinInfoShort) error) error {
	// The CIDs this peer is still unpinning, which the pinset no longer holds, are in the pass
	// too (in key order): the digest keeps their status, and a reconcile without them dropped
	// a failed unpin from the others' replicas.
	return s.localPass(ctx, 0, func(lp *localPin) error { return fn(lp.cid, lp.st) })
}

// fillPart adds the other members' parts of a local pass's pin: fill, or fillUnpinned for a
// CID the pinset no longer holds.
func (s *StatusService) fillPart(g *api.GlobalPinInfo, lp *localPin, ps *digestParts, r DigestReader, now time.Time) error {
	if lp.gone {
		return s.fillUnpinned(g, lp.cid, ps, r)
	}
	return s.fill(g, lp.cid, ps, r, now)
}
