package kubo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/internal/syncbuf"
)

// The tests that need Kubo share one daemon, started on first use and stopped by TestMain.
// PINCLUSTER_KUBO_BIN names the ipfs binary (make test-kubo builds the pinned one).
const kuboBinEnv = "PINCLUSTER_KUBO_BIN"

var shared struct {
	once sync.Once
	d    *daemon
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.d != nil {
		shared.d.stop()
	}
	os.Exit(code)
}

// daemon is a Kubo started for the tests: `ipfs init --profile test` in a temp IPFS_PATH
// (loopback, port 0 everywhere, no bootstrap, no mDNS), then `ipfs daemon --offline`.
type daemon struct {
	dir     string
	cmd     *exec.Cmd
	apiAddr string
	log     *syncbuf.Buffer
	done    chan struct{}
}

// kuboNode returns a Node connected to the shared daemon, closed at cleanup; it skips the test
// when PINCLUSTER_KUBO_BIN is not set.
func kuboNode(t *testing.T) *Node {
	t.Helper()
	d := sharedDaemon(t)
	n, err := New(testCtx(t), Config{NodeMultiaddress: d.apiAddr, RequestTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("New: %v\nkubo log:\n%s", err, d.log)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func sharedDaemon(t *testing.T) *daemon {
	t.Helper()
	bin := os.Getenv(kuboBinEnv)
	if bin == "" {
		t.Skipf("%s is not set: run `make test-kubo` to test the kubo backend against a real Kubo daemon", kuboBinEnv)
	}
	shared.once.Do(func() { shared.d, shared.err = startDaemon(bin) })
	if shared.err != nil {
		t.Fatalf("starting Kubo (%s): %v", bin, shared.err)
	}
	return shared.d
}

func startDaemon(bin string) (*daemon, error) {
	dir, err := os.MkdirTemp("", "pincluster-kubo-test-")
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "IPFS_PATH="+dir, "IPFS_TELEMETRY=off", "GOLOG_LOG_LEVEL=error")
	run := func(args ...string) error {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("ipfs %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	steps := [][]string{
		{"init", "--profile", "test", "--empty-repo"},
		{"config", "Addresses.API", "/ip4/127.0.0.1/tcp/0"},
		{"config", "Addresses.Gateway", "/ip4/127.0.0.1/tcp/0"},
		{"config", "--json", "Addresses.Swarm", `["/ip4/127.0.0.1/tcp/0"]`},
		{"config", "--json", "Bootstrap", "[]"},
		{"config", "--json", "Discovery.MDNS.Enabled", "false"},
		{"config", "Routing.Type", "none"},
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	d := &daemon{dir: dir, log: &syncbuf.Buffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(bin, "daemon", "--offline")
	d.cmd.Env = env
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	// Kubo writes the API's actual address to $IPFS_PATH/api once it listens.
	ok := poll.Until(60*time.Second, 50*time.Millisecond, func() bool {
		select {
		case <-d.done:
			return true
		default:
		}
		b, err := os.ReadFile(filepath.Join(dir, "api"))
		if err != nil || len(bytes.TrimSpace(b)) == 0 {
			return false
		}
		d.apiAddr = strings.TrimSpace(string(b))
		return true
	})
	select {
	case <-d.done:
		os.RemoveAll(dir)
		return nil, fmt.Errorf("ipfs daemon exited: %s", d.log)
	default:
	}
	if !ok {
		d.stop()
		return nil, fmt.Errorf("ipfs daemon did not write its API address within 60s: %s", d.log)
	}
	return d, nil
}

// stop interrupts the daemon, kills it if it does not exit in time, and removes its repo.
func (d *daemon) stop() {
	d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
	os.RemoveAll(d.dir)
}

// testCtx is bounded well under the package's time budget.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
