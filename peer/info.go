package peer

import (
	"context"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
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
				ops := make([]crdt.Op, len(recs))
				for i, r := range recs {
					ops[i] = r.Op
					ops[i].Kind, ops[i].PinJSON = crdt.OpUnpin, nil
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
