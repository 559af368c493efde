package peer

import (
	"context"
	"log/slog"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/healer"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// noCommits is the healer's pinset on a follower (cluster.follower_mode; see package cluster,
// follower.go): the healer's commits (unpinning expired pins; repins, which are off anyway)
// are the trusted peers' job, and a follower's op would be refused by them, splitting its
// pinset from theirs. It drops them, so the healer still reconciles this peer's allocations
// with its IPFS node.
type noCommits struct{ log *slog.Logger }

var _ healer.Pinset = noCommits{}

func (n noCommits) Commit(_ context.Context, changes ...messages.Change) ([]crdt.Op, error) {
	n.log.Debug("follower: leaving the healer's changes to the trusted peers", "changes", len(changes))
	return nil, nil
}

// healerPinset is what the healer commits through: the pinset, or nothing on a follower.
func (p *Peer) healerPinset() healer.Pinset {
	if p.cfg.Cluster.FollowerMode {
		return noCommits{log: p.log}
	}
	return p.pinset
}

// repinVoters are the live peers among which the healer chooses the one that repins
// (healer.Deps.Voters): those this peer trusts (consensus.crdt.trusted_peers, minus removed
// peers) that do not publish the follower metric, since only their commits are applied by
// every peer. When the monitor cannot answer, followers are not known and only trust filters.
func (p *Peer) repinVoters(ctx context.Context, live []libp2ppeer.ID) []libp2ppeer.ID {
	followers := map[libp2ppeer.ID]bool{}
	if ms, err := p.monitor.Latest(ctx, monitor.MetricFollower); err == nil {
		for _, m := range ms {
			followers[m.Peer] = m.Valid
		}
	}
	out := make([]libp2ppeer.ID, 0, len(live))
	for _, id := range live {
		if p.roster.Trusted(id) && !followers[id] {
			out = append(out, id)
		}
	}
	return out
}
