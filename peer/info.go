package peer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// localID describes this peer only (what it answers to IDRequest).
func (p *Peer) localID(ctx context.Context) api.ID {
	id := api.ID{
		ID:                 p.ident.ID,
		Version:            Version,
		RPCProtocolVersion: "/pincluster/rpc/0.1.0",
		Peername:           p.cfg.Cluster.Peername,
	}
	for _, a := range p.host.Addrs() {
		id.Addresses = append(id.Addresses, a.String()+"/p2p/"+p.ident.ID.String())
	}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if ipfsID, err := p.ipfs.ID(ictx); err != nil {
		id.IPFS.Error = err.Error()
	} else {
		id.IPFS = ipfsID
	}
	return id
}

// ID describes this peer and the cluster peers it knows.
func (p *Peer) ID(ctx context.Context) api.ID {
	id := p.localID(ctx)
	id.ClusterPeers = p.members(ctx)
	for _, m := range id.ClusterPeers {
		if m == p.ident.ID {
			continue
		}
		for _, a := range p.host.Peerstore().Addrs(m) {
			id.ClusterPeersAddresses = append(id.ClusterPeersAddresses, a.String()+"/p2p/"+m.String())
		}
	}
	return id
}

// Version is pincluster's version.
func (p *Peer) Version() api.Version { return api.Version{Version: Version} }

// Peers streams the ID of every cluster peer, asking each one; a peer that does not answer is
// listed with its error.
func (p *Peer) Peers(ctx context.Context, fn func(api.ID) error) error {
	for _, id := range p.members(ctx) {
		var out api.ID
		if id == p.ident.ID {
			out = p.ID(ctx)
		} else {
			rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
			res, err := p.remote.Request(rctx, p.remote.PID(id, rpcActorName), &messages.IDRequest{})
			cancel()
			if r, ok := res.(*messages.IDResponse); err == nil && ok {
				out = r.ID
			} else {
				out = api.ID{ID: id, Error: errString(err, res)}
			}
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return nil
}

func errString(err error, res any) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("unexpected reply %T", res)
}

// PeerRemove removes a peer: it is told to leave (it shuts down and cleans its state, keeping a
// backup), every peer forgets it, and its pins are reallocated when repinning is enabled.
func (p *Peer) PeerRemove(ctx context.Context, id libp2ppeer.ID) error {
	members := p.members(ctx)
	known := false
	for _, m := range members {
		known = known || m == id
	}
	if !known {
		return fmt.Errorf("%w: peer %s is not in the cluster (see peers ls)", api.ErrNotFound, id)
	}
	if id == p.ident.ID {
		if len(members) == 1 {
			return fmt.Errorf("%w: %s is the only peer of this cluster: a single-peer cluster cannot remove itself", api.ErrInvalid, id)
		}
		p.announceRemoval(ctx, id)
		go p.onLeaveRequest(&messages.LeaveRequest{By: id.String()})
		return nil
	}
	// Ask the peer to leave first: a peer that refuses (this peer is not in its trusted_peers)
	// stays a member everywhere, and the caller learns why.
	rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	if _, err := p.remote.Request(rctx, p.remote.PID(id, rpcActorName), &messages.LeaveRequest{By: p.ident.ID.String()}); err != nil {
		if errors.Is(err, api.ErrForbidden) {
			return fmt.Errorf("%w: peer %s refused to leave: this peer (%s) is not in its consensus.crdt.trusted_peers", api.ErrForbidden, id, p.ident.ID)
		}
		p.log.Warn("peers rm: the removed peer did not acknowledge (it may be down); it is forgotten anyway", "peer", id, "err", err)
	}
	p.announceRemoval(ctx, id)
	return nil
}

// learnRemovals applies the removals a trusted peer reported during anti-entropy (this peer
// was offline when they were announced, or joined later).
func (p *Peer) learnRemovals(removed map[libp2ppeer.ID]uint64) {
	for id, cutoff := range removed {
		if id == p.ident.ID {
			p.log.Warn("a peer reports that this peer was removed from the cluster (peers rm); its ops are refused: give this machine a new identity (init -f) to rejoin", "peer", id)
			continue
		}
		if have, ok := p.members_.cutoff(id); ok && have >= cutoff {
			continue
		}
		p.log.Info("learned that a peer was removed from the cluster", "peer", id, "cutoff", cutoff)
		p.forget(id, cutoff)
	}
}

// forget drops a removed peer from this peer's view; its ops up to cutoff stay valid.
func (p *Peer) forget(id libp2ppeer.ID, cutoff uint64) {
	if id == p.ident.ID {
		return
	}
	p.members_.remove(id, cutoff)
	p.membership.Forget(id)
	if err := p.store.RemoveMember(id, cutoff); err != nil {
		p.log.Warn("peers rm: forgetting the member", "peer", id, "err", err)
	}
	p.tellRemoved(messages.PeerRemoved{Peer: id, Cutoff: cutoff})
	if p.ctx.Err() == nil {
		// Ops of id after the cutoff that arrived before the removal was known here were
		// refused by the peers that knew: drop their records too.
		p.goLoop(func() {
			recs, err := p.store.DropAfterCutoff(p.ctx, id, cutoff)
			if err != nil {
				p.log.Warn("peers rm: dropping the removed peer's later ops", "peer", id, "err", err)
				return
			}
			if len(recs) > 0 {
				ops := make([]messages.Op, len(recs))
				for i, r := range recs {
					ops[i] = r.Op
					ops[i].Kind, ops[i].PinJSON = messages.OpUnpin, nil
				}
				p.log.Info("peers rm: dropped ops the removed peer made after its removal", "peer", id, "records", len(recs))
				p.tracker.Reconcile(ops)
			}
		})
	}
	// A timer, not a sleep: let the leave request and its reply through first.
	time.AfterFunc(2*time.Second, func() { _ = p.host.Network().ClosePeer(id) })
}

// onLeaveRequest: this peer was removed. It stops (through the daemon's leave hook), and the
// daemon moves its pinset state to a backup directory.
func (p *Peer) onLeaveRequest(m *messages.LeaveRequest) *messages.LeaveResponse {
	if p.left.Swap(true) {
		return &messages.LeaveResponse{}
	}
	p.log.Warn("this peer was removed from the cluster; shutting down and cleaning its state (a backup is kept)", "by", m.By)
	if p.leave != nil {
		time.AfterFunc(500*time.Millisecond, p.leave) // let the reply go out first
	}
	return &messages.LeaveResponse{}
}

// Left reports whether this peer was removed from the cluster.
func (p *Peer) Left() bool { return p.left.Load() }

// IPFSGC runs a garbage collection on this peer's IPFS node and, unless local, on every
// member's at the same time, so the slowest node sets the duration rather than their sum. A
// node's GC does not wait for the pins and adds in progress there (see ipfs/embedded); a node
// that fails or does not answer has the reason in its entry.
func (p *Peer) IPFSGC(ctx context.Context, local bool) (api.GlobalRepoGC, error) {
	out := api.GlobalRepoGC{PeerMap: map[string]api.IPFSRepoGC{}}
	var mu sync.Mutex
	set := func(id libp2ppeer.ID, r api.IPFSRepoGC) {
		mu.Lock()
		out.PeerMap[id.String()] = r
		mu.Unlock()
	}
	var wg sync.WaitGroup
	if !local {
		for _, id := range p.members(ctx) {
			if id == p.ident.ID {
				continue
			}
			wg.Go(func() {
				r, err := p.remote.Request(ctx, p.remote.PID(id, rpcActorName), &messages.GCRequest{})
				if resp, ok := r.(*messages.GCResponse); err == nil && ok {
					set(id, resp.Result)
				} else {
					set(id, api.IPFSRepoGC{Peer: id, Peername: p.peerName(id), Error: errString(err, r)})
				}
			})
		}
	}
	res := api.IPFSRepoGC{Peer: p.ident.ID, Peername: p.cfg.Cluster.Peername, Keys: []string{}}
	removed, err := p.ipfs.GC(ctx)
	if err != nil {
		res.Error = err.Error()
	}
	for _, c := range removed {
		res.Keys = append(res.Keys, c.String())
	}
	set(p.ident.ID, res)
	wg.Wait()
	return out, nil
}

// Metrics returns the latest valid metric of each peer named name.
func (p *Peer) Metrics(ctx context.Context, name string) ([]api.Metric, error) {
	ms, err := p.monitor.Latest(ctx, name)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if !p.members_.isRemoved(m.Peer) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		names, _ := p.monitor.Names(ctx)
		return nil, fmt.Errorf("%w: no valid metric named %q (known: %s)", api.ErrNotFound, name, strings.Join(names, ", "))
	}
	return out, nil
}

// MetricNames lists the metrics peers publish.
func (p *Peer) MetricNames(ctx context.Context) ([]string, error) { return p.monitor.Names(ctx) }

// Alerts lists metrics that expired recently.
func (p *Peer) Alerts(ctx context.Context) ([]api.Alert, error) {
	as, err := p.monitor.Alerts(ctx)
	if as == nil {
		as = []api.Alert{}
	}
	return as, err
}

// ConnectGraph describes who sees whom: this peer's connections, and each member's as far as
// this peer's peerstore knows them (a member's own view needs its answer; unknown links are
// left empty).
func (p *Peer) ConnectGraph(ctx context.Context) (api.ConnectGraph, error) {
	g := api.ConnectGraph{
		ClusterID:     p.ident.ID,
		IDtoPeername:  map[string]string{},
		ClusterLinks:  map[string][]libp2ppeer.ID{},
		ClustertoIPFS: map[string]string{},
		IPFSLinks:     map[string][]string{},
	}
	err := p.Peers(ctx, func(id api.ID) error {
		key := id.ID.String()
		g.IDtoPeername[key] = id.Peername
		g.ClustertoIPFS[key] = id.IPFS.ID
		links := []libp2ppeer.ID{}
		if id.ID == p.ident.ID {
			links = append(links, p.host.Network().Peers()...)
		} else if id.Error == "" {
			links = append(links, p.ident.ID)
		}
		g.ClusterLinks[key] = links
		return nil
	})
	return g, err
}

// DOT renders a connect graph in Graphviz's language (health graph).
func DOT(g api.ConnectGraph) string {
	var b strings.Builder
	b.WriteString("digraph cluster {\n")
	for id, name := range g.IDtoPeername {
		fmt.Fprintf(&b, "  %q [label=%q];\n", id, name)
	}
	for from, tos := range g.ClusterLinks {
		for _, to := range tos {
			fmt.Fprintf(&b, "  %q -> %q;\n", from, to.String())
		}
	}
	b.WriteString("}\n")
	return b.String()
}

func nowUTC() time.Time { return time.Now().UTC() }
