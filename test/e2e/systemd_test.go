package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pincluster/pincluster/internal/syncbuf"
)

// TestSystemdNotify plays systemd for a Type=notify unit: a unixgram socket as NOTIFY_SOCKET
// and WATCHDOG_USEC set. The daemon must send READY=1 only once its REST API answers, then
// WATCHDOG=1 pings, and STOPPING=1 on SIGTERM.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	initDir(t, filepath.Join(dir, "peer"))
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	states := make(chan string, 64)
	go func() { // the test's reader: exits when Cleanup closes the socket
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(states)
				return
			}
			states <- string(buf[:n])
		}
	}()

	cmd := exec.Command(binPath, "--config", filepath.Join(dir, "peer"), "daemon")
	// 2s: pings every second, so the test sees two within a few seconds.
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=2000000")
	log := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	d := &daemon{t: t, dir: filepath.Join(dir, "peer"), cmd: cmd, log: log, done: done}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("daemon log:\n%s", log.String())
		}
	})

	// expect waits for want, failing on a message containing notBefore first.
	expect := func(want, notBefore string, within time.Duration) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case s, ok := <-states:
				if !ok {
					t.Fatalf("notify socket closed before %s", want)
				}
				if strings.Contains(s, want) {
					return
				}
				if notBefore != "" && strings.Contains(s, notBefore) {
					t.Fatalf("%q came before %s", s, want)
				}
			case <-done:
				t.Fatalf("daemon exited before sending %s", want)
			case <-deadline:
				t.Fatalf("no %s within %s", want, within)
			}
		}
	}
	expect("READY=1", "WATCHDOG=1", 60*time.Second)
	// READY=1 is a promise that clients can connect: the API must answer now, without a retry.
	if r := d.cli("id"); r.code != 0 {
		t.Fatalf("READY=1 came but `id` failed: %s", r)
	}
	expect("WATCHDOG=1", "", 10*time.Second)
	expect("WATCHDOG=1", "", 10*time.Second) // a second one: the pings are periodic, not one-off

	cmd.Process.Signal(syscall.SIGTERM)
	expect("STOPPING=1", "", 30*time.Second)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not exit within 30s of SIGTERM")
	}
}
