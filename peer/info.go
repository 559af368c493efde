package peer

import (
	"time"

	"github.com/pincluster/pincluster/messages"
)

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
