package peer

import (
	"github.com/pincluster/pincluster/actors/watchdog"
	"github.com/pincluster/pincluster/internal/sdnotify"
)

// notifyReady tells systemd the peer is up (a no-op outside a Type=notify unit) and, when the
// unit sets WatchdogSec=, spawns the actor that keeps pinging while the actor tree answers.
// RunDaemon calls it once New has returned: every listener (REST, proxy, pinning service,
// libp2p) is bound by then, so `systemctl start` returning means clients can connect.
func (p *Peer) notifyReady() error {
	every, ok, err := sdnotify.WatchdogInterval()
	if err != nil {
		return err
	}
	// READY=1 before the first WATCHDOG=1, in the order systemd expects them.
	if err := sdnotify.Ready(); err != nil {
		p.log.Warn("cannot tell systemd the peer is ready", "err", err)
	}
	if ok {
		if _, err := watchdog.Spawn(p.root, watchdog.Deps{Every: every, Probe: p.root.PID(), Ping: sdnotify.Watchdog}, p.log); err != nil {
			return err
		}
	}
	return nil
}

// notifyStopping tells systemd the shutdown is deliberate, so it waits for it (TimeoutStopSec=)
// rather than reading a silent watchdog as a hang.
func (p *Peer) notifyStopping() {
	if err := sdnotify.Stopping(); err != nil {
		p.log.Warn("cannot tell systemd the peer is stopping", "err", err)
	}
}
