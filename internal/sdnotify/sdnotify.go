// Package sdnotify tells systemd how the daemon is doing (sd_notify(3)): READY=1 once the
// listeners are up, STOPPING=1 at shutdown and WATCHDOG=1 pings. Every call is a no-op when
// NOTIFY_SOCKET is unset, so the daemon behaves the same outside a Type=notify unit.
//
// The send is one datagram on a unix socket systemd owns: it does not wait on systemd, which
// is why the watchdog actor may call Watchdog from its Receive.
package sdnotify

import (
	"fmt"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notify sends state; an error is worth a log line, never a reason to stop the daemon
// (systemd would only see the peer as not ready and act on its own timeout).
func notify(state string) error {
	// unsetEnvironment=false: the daemon keeps NOTIFY_SOCKET, it notifies more than once.
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("sd_notify %s: %w", state, err)
	}
	return nil
}

// Ready tells systemd the peer is up (Type=notify ends `systemctl start` here).
func Ready() error { return notify(daemon.SdNotifyReady) }

// Stopping tells systemd the peer is shutting down on purpose.
func Stopping() error { return notify(daemon.SdNotifyStopping) }

// Watchdog pings systemd's watchdog (WatchdogSec= in the unit).
func Watchdog() error { return notify(daemon.SdNotifyWatchdog) }

// WatchdogInterval is how often to ping: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
// advises, so one late ping does not get the peer killed. ok is false when systemd expects no
// pings (WATCHDOG_USEC unset, or WATCHDOG_PID names another process).
func WatchdogInterval() (every time.Duration, ok bool, err error) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0, false, fmt.Errorf("WATCHDOG_USEC: %w", err)
	}
	if d <= 0 {
		return 0, false, nil
	}
	return d / 2, true, nil
}
