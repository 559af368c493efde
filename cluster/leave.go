package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// leaveConfirmEvery is how long LeaveCluster waits between rounds of asking the other members
// whether they still list this peer. Each round announces the removal again: a pubsub message
// published just before the host closes can be lost, and a repeat costs one small message.
const leaveConfirmEvery = 500 * time.Millisecond

// LeaveCluster removes this peer from the cluster the way `peers rm <self>` does (the removal
// is announced on the removals topic with this peer's last op as the cutoff; every member
// forgets it, stops redialing it and reallocates its pins), for cluster.leave_on_shutdown. It
// does not stop the peer: it marks it as having left (Node.Leave), and the daemon, which is
// already shutting down, then moves its state to a backup as after a removal.
//
// It returns once every other member that answers no longer lists this peer, or when ctx
// ends (the caller bounds it; members that did not answer learn the removal from
// anti-entropy). A peer that is alone cannot leave (as peers rm refuses it): an error wrapping
// api.ErrInvalid, and nothing changes. Nor can a peer that no other member answers (down, or
// this peer cut off): the announcement would likely reach nobody, and once announced the
// identity is given up (a member that hears of the removal refuses the peer for good), so
// the peer would be out of its own reckoning and in everyone else's. It stays a member: an
// error wrapping api.ErrUnavailable, nothing announced.
//
// Follower peers may leave too: a removal that a peer announces of itself is accepted from
// any peer (it can only take itself out).
func (s *PeerService) LeaveCluster(ctx context.Context) error {
	self := s.d.Members.Self()
	members := s.d.Members.Members(ctx)
	if len(members) <= 1 {
		return fmt.Errorf("%w: %s sees no other member (it is the only peer, or it is cut off from the others): there is nothing to leave, and it stays a member", api.ErrInvalid, self)
	}
	if answered, _ := s.askOthers(ctx, self); answered == 0 {
		return fmt.Errorf("%w: leaving the cluster: no other member answers, so none would learn that this peer left; it stays a member (remove it later with peers rm from another peer)", api.ErrUnavailable)
	}
	if err := s.seal(ctx, "this peer is leaving the cluster: send writes to another peer"); err != nil {
		return err
	}
	for round := 0; ; round++ {
		s.d.Node.AnnounceRemoval(ctx, self, 0) // sealed: this peer's last op is its LastSeq
		if answered, forgot := s.askOthers(ctx, self); answered > 0 && forgot {
			s.d.Node.Leave(self.String(), false)
			return nil
		}
		// A bounded wait between rounds of the shutdown path (not an actor, nothing else to
		// do meanwhile): the announcement needs a gossip round trip to arrive.
		select {
		case <-ctx.Done():
			// Still marked as left: the removal was announced, and the members that missed
			// it learn it from the others (anti-entropy carries removals).
			s.d.Node.Leave(self.String(), false)
			return fmt.Errorf("%w: leaving the cluster: after %d announcements some members still list this peer: %v", api.ErrTimeout, round+1, ctx.Err())
		case <-time.After(leaveConfirmEvery):
		}
	}
}

// seal stops this peer's writes before its removal is announced with its last op as the
// cutoff: the others refuse its ops above it, so a pin acknowledged after the cutoff was read
// (a batch ingest still committing while the peer left) was lost. Sealed, every write taken
// is durable and broadcast before the cutoff is read, and later ones are refused (503). When
// the seal does not finish (ctx ends while a write is slow), nothing is announced: the peer
// stays a member (it refuses writes until it stops, which leave_on_shutdown does anyway).
func (s *PeerService) seal(ctx context.Context, reason string) error {
	if _, err := s.d.Node.SealWrites(ctx, reason); err != nil {
		return fmt.Errorf("%w: leaving the cluster: this peer's writes could not be sealed, so its removal is not announced and it stays a member: %v", api.ErrUnavailable, err)
	}
	return nil
}

// askOthers asks every other member it still sees for its ID, and reports how many answered
// and whether none of those lists self among its cluster peers.
func (s *PeerService) askOthers(ctx context.Context, self peer.ID) (answered int, forgot bool) {
	others := s.fan.others(ctx, nil)
	forgot = true
	ask(ctx, s.fan, others, &messages.IDRequest{}, RPCTimeout, func(id peer.ID, r *messages.IDResponse, err string) {
		if err != "" || r == nil {
			s.d.Log.Debug("leave: a member did not answer", "peer", id, "err", err)
			return
		}
		answered++
		if slices.Contains(r.ID.ClusterPeers, self) {
			forgot = false
		}
	})
	return answered, forgot
}
