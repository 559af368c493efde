package peer

import (
	"context"
	"log/slog"

	"github.com/pincluster/pincluster/actors/healer"
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
