package peer

import (
	"context"
	"time"
)

// LeaveTimeout bounds how long a clean shutdown with cluster.leave_on_shutdown waits for the
// other members to confirm that they forgot this peer.
const LeaveTimeout = 20 * time.Second

// leaveOnShutdown is the first step of a clean shutdown when cluster.leave_on_shutdown is set
// and the peer was not removed already: the peer removes itself as `peers rm <self>` would
// (cluster.PeerService.LeaveCluster), bounded by LeaveTimeout. It logs the outcome and never
// fails the shutdown. Afterwards Left reports true, so the daemon cleans the state as after
// a removal.
func (p *Peer) leaveOnShutdown() {
	if !p.cfg.Cluster.LeaveOnShutdown || p.Left() || p.Services == nil {
		return
	}
	p.log.Warn("leave_on_shutdown: removing this peer from the cluster before it stops", "timeout", LeaveTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), LeaveTimeout)
	defer cancel()
	start := time.Now()
	if err := p.LeaveCluster(ctx); err != nil {
		if !p.Left() {
			p.log.Warn("leave_on_shutdown: this peer stays a member", "err", err)
			return
		}
		p.log.Warn("leave_on_shutdown: the removal was announced but not confirmed by every member", "err", err)
		return
	}
	p.log.Info("leave_on_shutdown: the other members forgot this peer", "took", time.Since(start).Round(time.Millisecond))
}
