package sdnotify

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		name      string
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{name: "unset"},
		{name: "half of WatchdogSec", usec: "60000000", want: 30 * time.Second, ok: true},
		{name: "another process's watchdog", usec: "60000000", pid: "1"},
		{name: "this process's watchdog", usec: "2000000", pid: strconv.Itoa(os.Getpid()), want: time.Second, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", tc.usec)
			t.Setenv("WATCHDOG_PID", tc.pid)
			if tc.usec == "" {
				os.Unsetenv("WATCHDOG_USEC")
			}
			if tc.pid == "" {
				os.Unsetenv("WATCHDOG_PID")
			}
			got, ok, err := WatchdogInterval()
			if err != nil || got != tc.want || ok != tc.ok {
				t.Fatalf("WatchdogInterval() = %v, %v, %v; want %v, %v", got, ok, err, tc.want, tc.ok)
			}
		})
	}
}

// TestNoSocketIsNoOp: outside a Type=notify unit every call succeeds and does nothing.
func TestNoSocketIsNoOp(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	for _, f := range []func() error{Ready, Stopping, Watchdog} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBadWatchdogUsec(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "soon")
	if _, _, err := WatchdogInterval(); err == nil {
		t.Fatal("WATCHDOG_USEC=soon was accepted")
	}
}
