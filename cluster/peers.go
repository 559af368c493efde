package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// PeerService describes this peer and the cluster's members, and removes members.
type PeerService struct {
	d   Deps
	fan *fanout
}

// Version is pincluster's version.
func (s *PeerService) Version() api.Version { return api.Version{Version: s.d.Config.Version} }

// ID describes this peer and the cluster peers it knows.
func (s *PeerService) ID(ctx context.Context) api.ID {
	id := s.localID(ctx)
	self := s.d.Members.Self()
	id.ClusterPeers = s.d.Members.Members(ctx)
	for _, m := range id.ClusterPeers {
		if m != self {
			id.ClusterPeersAddresses = append(id.ClusterPeersAddresses, s.d.Node.PeerAddrs(m)...)
		}
	}
	return id
}

// RPCProtocolVersion names the peer-to-peer protocol in IDs (IPFS Cluster's rpc_protocol_version).
const RPCProtocolVersion = "/pincluster/rpc/0.1.0"

// localID describes this peer alone: addresses and IPFS node, without its cluster peers.
func (s *PeerService) localID(ctx context.Context) api.ID {
	id := api.ID{ID: s.d.Members.Self(), Version: s.d.Config.Version, RPCProtocolVersion: RPCProtocolVersion,
		Peername: s.d.Config.Peername, Addresses: s.d.Node.Addrs()}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if ipfsID, err := s.d.IPFS.ID(ictx); err != nil {
		id.IPFS.Error = err.Error()
	} else {
		id.IPFS = ipfsID
	}
	return id
}

// Peers streams the ID of every member, asking each one (all at once), in member order; a
// member that does not answer is listed with its error.
func (s *PeerService) Peers(ctx context.Context, fn func(api.ID) error) error {
	return s.eachMember(ctx, s.d.Members.Members(ctx), func(r messages.IDResponse) error { return fn(r.ID) })
}

// eachMember is Peers over members (read once by the caller) with what each answered: its ID
// and the members it is connected to (this peer's own, for itself).
func (s *PeerService) eachMember(ctx context.Context, members []peer.ID, fn func(messages.IDResponse) error) error {
	self := s.d.Members.Self()
	others := slices.DeleteFunc(slices.Clone(members), func(id peer.ID) bool { return id == self })
	answers := make(map[peer.ID]messages.IDResponse, len(members))
	// This peer's own answer first: asking the others dials those it is not connected to.
	answers[self] = s.IDResponse(ctx)
	ask(ctx, s.fan, others, &messages.IDRequest{}, RPCTimeout, func(id peer.ID, r *messages.IDResponse, err string) {
		if err == "" && r == nil {
			err = "empty reply"
		}
		if err != "" {
			answers[id] = messages.IDResponse{ID: api.ID{ID: id, Error: err}}
			return
		}
		answers[id] = *r
	})
	for _, m := range members {
		if err := fn(answers[m]); err != nil {
			return err
		}
	}
	return nil
}

// IDResponse is this peer's answer to another's IDRequest: its ID and the members it is
// connected to.
func (s *PeerService) IDResponse(ctx context.Context) messages.IDResponse {
	id := s.ID(ctx)
	return messages.IDResponse{ID: id, Connected: connectedAmong(s.d.Node.Connected(), id.ClusterPeers)}
}

// connectedAmong is the peers of connected that are members.
func connectedAmong(connected, members []peer.ID) []peer.ID {
	member := make(map[peer.ID]bool, len(members))
	for _, m := range members {
		member[m] = true
	}
	out := []peer.ID{}
	for _, p := range connected {
		if member[p] {
			out = append(out, p)
		}
	}
	return out
}

// PeerRemove removes a member: it is told to leave (it shuts down and cleans its state, keeping
// a backup), every peer forgets it, and its pins are reallocated when repinning is enabled.
func (s *PeerService) PeerRemove(ctx context.Context, id peer.ID) error {
	if err := s.d.Config.Refuse("remove peers"); err != nil {
		return err
	}
	// A member that has been down longer than the ping TTL is no longer listed, but it is
	// still dialled and may hold allocations: it can be removed too.
	known, err := s.d.Members.Known(ctx, id)
	if err != nil {
		return fmt.Errorf("peers rm: is %s a member: %w", id, err)
	}
	if !known {
		return fmt.Errorf("%w: peer %s is not in the cluster (see peers ls)", api.ErrNotFound, id)
	}
	members := s.d.Members.Members(ctx)
	self := s.d.Members.Self()
	if id == self {
		if len(members) == 1 {
			return fmt.Errorf("%w: %s is the only peer of this cluster: a single-peer cluster cannot remove itself", api.ErrInvalid, id)
		}
		if err := s.seal(ctx, "this peer was removed from the cluster: send writes to another peer"); err != nil {
			return err
		}
		s.d.Node.AnnounceRemoval(ctx, id, 0)
		s.d.Node.Leave(id.String(), false)
		return nil
	}
	// Ask the peer to leave first: a peer that refuses (this peer is not in its trusted_peers)
	// stays a member everywhere, and the caller learns why. A peer that answers has sealed its
	// writes and broadcast them (onLeave), and says its last op; it stays up a while
	// (peer.leaveForPull) so that what it holds is pulled here before the cutoff is read, and
	// the ops under the cutoff outlive it. One that does not answer may be alive all the same
	// (a timeout while it seals): it is pulled from too, for less long.
	rctx, cancel := context.WithTimeout(ctx, RPCTimeout)
	defer cancel()
	var last uint64
	pullFor := removedPullLimit
	if res, err := s.d.Remote.Call(rctx, id, &messages.LeaveRequest{By: self.String()}); err != nil {
		if errors.Is(err, api.ErrForbidden) {
			return fmt.Errorf("%w: peer %s refused to leave: this peer (%s) is not in its consensus.crdt.trusted_peers", api.ErrForbidden, id, self)
		}
		s.d.Log.Warn("peers rm: the removed peer did not acknowledge (it may be down); it is forgotten anyway", "peer", id, "err", err)
		pullFor = unansweredPullLimit
	} else if r, ok := res.(*messages.LeaveResponse); ok {
		last = r.LastSeq
		if r.Error != "" {
			s.d.Log.Warn("peers rm: the removed peer could not seal its writes", "peer", id, "err", r.Error)
		}
	}
	pctx, pcancel := context.WithTimeout(ctx, pullFor)
	defer pcancel()
	if err := s.d.Node.PullFrom(pctx, id); err != nil {
		// The cutoff then takes the removed peer's word for its last op (bounded: roster),
		// so that its ops under it stay valid wherever they arrive from.
		s.d.Log.Warn("peers rm: pulling the removed peer's last ops; the others may lack some", "peer", id, "err", err)
	} else {
		last = 0 // all pulled: this peer's own view is the cutoff
	}
	s.d.Node.AnnounceRemoval(ctx, id, last)
	return nil
}

// The pull of a removed peer's last ops is bounded: it stays up for them a while
// (peer.leaveForPull: longer than RPCTimeout plus removedPullLimit).
const (
	removedPullLimit    = 20 * time.Second
	unansweredPullLimit = 5 * time.Second
)

// ConnectGraph describes who sees whom (health graph): each member's connections to other
// members (of this peer's member list), as it reports them when asked for its ID. A member of
// a version that reports none is linked to this peer only (it answered, so that link exists);
// one that does not answer has no links. Beyond connection_manager.low_water+1 members this
// is a sparse graph (package membership): links, gossipsub's mesh peers and calls in
// progress, among which the asking itself: this peer's own connections are read before it
// asks, but every member that answers is then connected to it (and may still be after an
// earlier peers ls or health graph, until the connection manager trims it).
func (s *PeerService) ConnectGraph(ctx context.Context) (api.ConnectGraph, error) {
	self := s.d.Members.Self()
	g := api.ConnectGraph{
		ClusterID:     self,
		IDtoPeername:  map[string]string{},
		ClusterLinks:  map[string][]peer.ID{},
		ClustertoIPFS: map[string]string{},
		IPFSLinks:     map[string][]string{},
	}
	list := s.d.Members.Members(ctx)
	members := make(map[peer.ID]bool, len(list))
	for _, m := range list {
		members[m] = true
	}
	err := s.eachMember(ctx, list, func(r messages.IDResponse) error {
		id := r.ID
		key := id.ID.String()
		g.IDtoPeername[key] = id.Peername
		g.ClustertoIPFS[key] = id.IPFS.ID
		links := []peer.ID{}
		switch {
		case id.Error != "":
		case len(r.Connected) > 0 || id.ID == self:
			seen := map[peer.ID]bool{id.ID: true} // no loops, no duplicates
			for _, p := range r.Connected {
				if members[p] && !seen[p] {
					seen[p] = true
					links = append(links, p)
				}
			}
		default:
			links = append(links, self)
		}
		g.ClusterLinks[key] = links
		return nil
	})
	return g, err
}
