package peer

import (
	"context"
	"time"

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
