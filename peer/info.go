package peer

import (
	"context"
	"time"

	"github.com/pincluster/pincluster/messages"
)

// onLeaveRequest: this peer was removed. It stops (through the daemon's leave hook) after
// grace, or sooner when asked again with a shorter one, and the daemon moves its pinset state
// to a backup directory.
//
// It refuses writes at once (pinset seal.go): the others refuse its ops above the cutoff of
// its removal, so a pin it acknowledged from now on would be lost.
func (p *Peer) onLeaveRequest(m *messages.LeaveRequest, grace time.Duration) *messages.LeaveResponse {
	if p.pinset != nil {
		p.pinset.StopWrites("this peer was removed from the cluster: send writes to another peer")
	}
	if !p.left.Swap(true) {
		p.log.Warn("this peer was removed from the cluster; shutting down and cleaning its state (a backup is kept)", "by", m.By)
	}
	if p.leave == nil {
		return &messages.LeaveResponse{}
	}
	p.leaveMu.Lock()
	defer p.leaveMu.Unlock()
	at := time.Now().Add(grace)
	switch {
	case p.leaveTimer == nil:
		p.leaveTimer, p.leaveAt = time.AfterFunc(grace, p.leave), at
	case at.Before(p.leaveAt) && p.leaveTimer.Stop(): // not fired yet: sooner
		p.leaveTimer.Reset(grace)
		p.leaveAt = at
	}
	return &messages.LeaveResponse{}
}

// leaveReplyGrace lets a reply go out before the peer stops.
const leaveReplyGrace = 500 * time.Millisecond

// leaveForPull is how long a peer removed by another member (peers rm) stays up after it
// answered (more than the remover's RPC timeout and pull bound together), so that the remover
// can pull its last ops before it reads the cutoff
// (cluster.PeerService.PeerRemove); the announcement of the removal, when it arrives, stops
// the peer at once (leaveReplyGrace).
const leaveForPull = 60 * time.Second

// Left reports whether this peer was removed from the cluster.
func (p *Peer) Left() bool { return p.left.Load() }

// CollectNow runs a round of tombstone collection now and returns when it ends (the harness's
// tests wait on rounds with it instead of on the clock).
func (p *Peer) CollectNow(ctx context.Context) error { return p.collector.CollectNow(ctx) }
