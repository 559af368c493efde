package peer

import (
	"context"

	"github.com/libp2p/go-libp2p/core/network"
)

// watchConnections reacts to new connections: tell the membership actor, pull what the
// newcomer has that we lack (pinset ops, token records), and publish metrics soon (so the newcomer learns about us).
func (p *Peer) watchConnections() {
	p.host.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			p.membership.Connected(c.RemotePeer())
			p.antientropy.PullFrom(c.RemotePeer())
			p.tokens.PullFrom(c.RemotePeer()) // token records (revocations) this peer missed
			p.informer.PublishSoon()
		},
		DisconnectedF: func(_ network.Network, c network.Conn) {
			p.membership.Disconnected(c.RemotePeer())
		},
	})
}

// informerSource is what the informer reads this peer's metrics from (informer.Source).
type informerSource struct{ p *Peer }

func (s informerSource) FreeSpace(ctx context.Context) (uint64, error) {
	st, err := s.p.ipfs.RepoStat(ctx)
	return st.FreeSpace, err
}

func (s informerSource) NodePins() (int, bool) { return s.p.healer.NodePins() }

func (s informerSource) QueueLen() int { return s.p.tracker.QueueLen() }

func (s informerSource) Addrs() []string {
	var addrs []string
	for _, a := range s.p.host.Addrs() {
		addrs = append(addrs, a.String())
	}
	return addrs
}
