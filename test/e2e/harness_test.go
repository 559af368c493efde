// Package e2e drives the built pincluster binary as a user would: it builds cmd/pincluster once,
// starts daemons in temp dirs and runs CLI commands against them.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/internal/syncbuf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pincluster-e2e-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "pincluster")
	build := exec.Command("go", "build", "-o", binPath, "github.com/pincluster/pincluster/cmd/pincluster")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building pincluster:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result of one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// run executes the CLI with args (under a 2-minute bound) and returns its output and exit code.
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// daemon is a running `pincluster daemon`.
type daemon struct {
	t    *testing.T
	dir  string
	cmd  *exec.Cmd
	log  *syncbuf.Buffer
	done chan struct{}
	env  []string
}

// cli runs a client command against this daemon's config dir.
func (d *daemon) cli(args ...string) result {
	d.t.Helper()
	return run(d.t, nil, append([]string{"--config", d.dir}, args...)...)
}

// mustCLI runs a client command and fails the test unless it exits 0.
func (d *daemon) mustCLI(args ...string) string {
	d.t.Helper()
	r := d.cli(args...)
	if r.code != 0 {
		d.t.Fatalf("pincluster %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

func initDir(t *testing.T, dir string, env ...string) {
	t.Helper()
	if r := run(t, env, "--config", dir, "init", "--randomports"); r.code != 0 {
		t.Fatalf("init: %s", r)
	}
}

// startDaemon starts a daemon on dir and waits until `id` answers.
func startDaemon(t *testing.T, dir string, env []string, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"--config", dir, "daemon"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	log := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	d := &daemon{t: t, dir: dir, cmd: cmd, log: log, done: done}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("daemon %s log:\n%s", dir, log.String())
		}
	})
	exited := false
	up := poll.Until(60*time.Second, 200*time.Millisecond, func() bool {
		select {
		case <-done:
			exited = true
			return true
		default:
		}
		return d.cli("id").code == 0
	})
	if exited {
		t.Fatalf("daemon exited early: %s", log.String())
	}
	if !up {
		t.Fatalf("daemon on %s did not answer id within 60s: %s", dir, log.String())
	}
	return d
}

// kill sends SIGKILL and waits for the process to go.
func (d *daemon) kill() {
	d.cmd.Process.Kill()
	<-d.done
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.t.Fatalf("daemon did not stop within 30s of SIGTERM: %s", d.log.String())
	}
}

// waitFor polls cond until it returns true or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll.Until(timeout, 200*time.Millisecond, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}
