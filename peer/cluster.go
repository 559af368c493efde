package peer

import (
	"context"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/pincluster/pincluster/crdt"
)

// memberState tracks peers removed with `peers rm`, so they drop out of listings and
// allocations at once instead of when their metrics expire.
type memberState struct {
	mu sync.Mutex
	// removed maps each peer removed with peers rm to the seq up to which its ops stay valid.
	removed map[libp2ppeer.ID]uint64
}

// remove records id as removed, its ops valid up to seq cutoff (the highest the remover had).
func (m *memberState) remove(id libp2ppeer.ID, cutoff uint64) {
	m.mu.Lock()
	m.removed[id] = max(m.removed[id], cutoff)
	m.mu.Unlock()
}

// cutoff is the seq up to which a removed peer's ops stay valid; ok is false if id was not
// removed.
func (m *memberState) cutoff(id libp2ppeer.ID) (seq uint64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seq, ok = m.removed[id]
	return seq, ok
}

// snapshot returns the removed peers and their cutoffs.
func (m *memberState) snapshot() map[libp2ppeer.ID]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.removed)
}

// list returns the removed peers.
func (m *memberState) list() []libp2ppeer.ID {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]libp2ppeer.ID, 0, len(m.removed))
	for id := range m.removed {
		out = append(out, id)
	}
	return out
}

func (m *memberState) isRemoved(id libp2ppeer.ID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.removed[id]
	return ok
}

// members is this peer plus every peer that is connected or has a valid ping metric, minus
// removed peers, sorted.
func (p *Peer) members(ctx context.Context) []libp2ppeer.ID {
	set := map[libp2ppeer.ID]bool{p.ident.ID: true}
	for _, id := range p.host.Network().Peers() {
		set[id] = true
	}
	if live, err := p.monitor.LivePeers(ctx); err == nil {
		for _, id := range live {
			set[id] = true
		}
	}
	out := make([]libp2ppeer.ID, 0, len(set))
	for id := range set {
		if !p.members_.isRemoved(id) {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// bootstrap hands the --bootstrap peers to the membership actor (which reads the peerstore
// file itself), which dials them now, redials members for as long as the peer runs, and dials
// them all again whenever it is alone.
func (p *Peer) bootstrap(addrs []string) {
	var infos []libp2ppeer.AddrInfo
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			p.log.Warn("bootstrap: bad multiaddress", "addr", a, "err", err)
			continue
		}
		info, err := libp2ppeer.AddrInfoFromP2pAddr(m)
		if err != nil {
			p.log.Warn("bootstrap: multiaddress lacks /p2p/<peer id>", "addr", a)
			continue
		}
		if info.ID != p.ident.ID {
			infos = append(infos, *info)
		}
	}
	if len(infos) > 0 {
		p.membership.Bootstrap(infos)
	}
}

// watchConnections reacts to new connections: publish metrics soon (so the newcomer learns about
// us) and pull what the newcomer has that we lack.
func (p *Peer) watchConnections() {
	p.host.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			p.membership.Connected(c.RemotePeer())
			p.requestPull(c.RemotePeer())
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

func (s informerSource) PinCount() (int, error) { return s.p.store.CountPins() }

func (s informerSource) QueueLen() int { return s.p.tracker.QueueLen() }

func (s informerSource) Addrs() []string {
	var addrs []string
	for _, a := range s.p.host.Addrs() {
		addrs = append(addrs, a.String())
	}
	return addrs
}

// requestPull asks the anti-entropy scheduler to pull from id soon (never blocks).
func (p *Peer) requestPull(id libp2ppeer.ID) { p.antientropy.PullFrom(id) }

// pullMembers is the peer's view of whom to pull from (antientropy.Members).
type pullMembers struct{ p *Peer }

func (m pullMembers) Connected() []libp2ppeer.ID { return m.p.host.Network().Peers() }

func (m pullMembers) Allowed(id libp2ppeer.ID) bool {
	return !m.p.members_.isRemoved(id) && m.p.trusted(id)
}

func (m pullMembers) Answered(id libp2ppeer.ID) { m.p.touchMember(id) }

// republish hands the batcher our own ops that were durable but not yet broadcast when the
// peer last stopped (crash included).
func (p *Peer) republish(ctx context.Context) {
	published, err := p.store.Published(p.ident.ID)
	if err != nil {
		p.log.Warn("republish: reading the published mark", "err", err)
		return
	}
	last, err := p.store.LastSeq(p.ident.ID)
	if err != nil || last <= published {
		return
	}
	var batch []crdt.Op
	err = p.store.OpsFrom(ctx, p.ident.ID, published+1, func(op crdt.Op) error {
		batch = append(batch, op)
		if len(batch) >= 1024 {
			p.batcher.Publish(batch)
			batch = nil
		}
		return nil
	})
	p.batcher.Publish(batch)
	if err != nil {
		p.log.Warn("republish", "err", err)
		return
	}
	p.log.Info("republishing ops not broadcast before the last stop", "ops", last-published)
}

func contains(ids []libp2ppeer.ID, id libp2ppeer.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
