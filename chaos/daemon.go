package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pincluster/pincluster/api/client"
	"github.com/pincluster/pincluster/internal/faults"
	"github.com/pincluster/pincluster/internal/poll"
)

// node is one peer: its config dir and, while it runs, its daemon process.
type node struct {
	i          int    // 1-based
	dir        string // config dir
	faultsPath string
	logPath    string
	id         string // peer ID
	addr       string // /ip4/127.0.0.1/tcp/P/p2p/ID
	api        *client.Client

	mu       sync.Mutex
	proc     *proc // nil while down
	paused   bool  // SIGSTOPped
	ready    bool  // REST answered since the last start: signals are safe to send
	hwm      int64 // highest VmHWM seen over all incarnations (bytes)
	starts   int
	crashes  []string // unexpected exits, with the log's tail
	expected bool     // the harness is killing or stopping it (its exit is no crash)
}

// proc is a running daemon process.
type proc struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when it exited
	err  error         // its exit status, once done
}

func (n *node) name() string { return "p" + strconv.Itoa(n.i) }

// initNode runs `init --randomports` in dir with the cluster's secret and peer name, binds the
// cluster listener to loopback and shortens the intervals that decide how fast a fault shows
// (and heals), then reads the peer ID from identity.json.
func initNode(ctx context.Context, bin string, n *node, secret string) error {
	cmd := exec.CommandContext(ctx, bin, "--config", n.dir, "init", "--randomports")
	cmd.Env = append(os.Environ(), "CLUSTER_SECRET="+secret, "CLUSTER_PEERNAME="+n.name())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s init: %v\n%s", n.name(), err, out)
	}
	path := filepath.Join(n.dir, "service.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	raw = bytes.ReplaceAll(raw, []byte("/ip4/0.0.0.0/tcp/"), []byte("/ip4/127.0.0.1/tcp/"))
	for _, e := range []struct {
		path  []string
		value any
	}{
		{[]string{"cluster", "monitor_ping_interval"}, "2s"},
		{[]string{"cluster", "pin_recover_interval"}, "20s"},
		{[]string{"cluster", "state_sync_interval"}, "30s"},
		{[]string{"informer", "metric_ttl"}, "6s"},
		{[]string{"monitor", "check_interval"}, "1s"},
	} {
		if raw, err = setJSONKey(raw, e.path, e.value); err != nil {
			return fmt.Errorf("editing %s: %w", path, err)
		}
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return err
	}
	var cfg struct {
		Cluster struct {
			Listen []string `json:"listen_multiaddress"`
		} `json:"cluster"`
		API struct {
			REST struct {
				Listen string `json:"listen_multiaddress"`
			} `json:"restapi"`
		} `json:"api"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil || len(cfg.Cluster.Listen) == 0 {
		return fmt.Errorf("reading %s: %v", path, err)
	}
	var ident struct {
		ID string `json:"id"`
	}
	if b, err := os.ReadFile(filepath.Join(n.dir, "identity.json")); err != nil {
		return err
	} else if err := json.Unmarshal(b, &ident); err != nil || ident.ID == "" {
		return fmt.Errorf("reading %s identity: %v", n.name(), err)
	}
	n.id = ident.ID
	n.addr = cfg.Cluster.Listen[0] + "/p2p/" + ident.ID
	n.faultsPath = filepath.Join(n.dir, "faults.json")
	n.logPath = filepath.Join(n.dir, "daemon.log")
	if err := faults.Save(n.faultsPath, faults.Config{}); err != nil {
		return err
	}
	n.api, err = client.New(client.Config{Hosts: []string{cfg.API.REST.Listen}, Timeout: opTimeout})
	return err
}

// setJSONKey sets the value at path in a JSON object document, keeping every other key.
func setJSONKey(doc []byte, path []string, value any) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	obj := root
	for _, k := range path[:len(path)-1] {
		next, ok := obj[k].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("no object at %q", k)
		}
		obj = next
	}
	if _, ok := obj[path[len(path)-1]]; !ok {
		return nil, fmt.Errorf("no key %q", strings.Join(path, "."))
	}
	obj[path[len(path)-1]] = value
	return json.MarshalIndent(root, "", "  ")
}

// start launches the daemon (appending to daemon.log) and waits until its REST API answers.
// The process gets its own process group, so a Ctrl-C reaches only the harness (which stops
// it), and SIGKILL when the harness dies.
func (n *node) start(ctx context.Context, bin string, bootstrap string) error {
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{"--config", n.dir, "daemon"}
	if bootstrap != "" {
		args = append(args, "--bootstrap", bootstrap)
	}
	fmt.Fprintf(logf, "==== chaos: start %s (%s)\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), faults.EnvVar+"="+n.faultsPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", n.name(), err)
	}
	p := &proc{cmd: cmd, log: logf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		n.exited(p) // before done: whoever waits on done sees the node down
		close(p.done)
	}()
	n.mu.Lock()
	n.proc, n.paused, n.ready, n.expected = p, false, false, false
	n.starts++
	n.mu.Unlock()
	exited := false
	up := poll.Until(startTimeout, 250*time.Millisecond, func() bool {
		select {
		case <-p.done:
			exited = true
			return true
		case <-ctx.Done():
			return true
		default:
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		// The answer must come from this peer: a daemon not yet listening could share its
		// port with another one, and a signal sent before it installs its handlers kills it.
		id, err := n.api.ID(rctx)
		return err == nil && id.ID.String() == n.id
	})
	switch {
	case exited:
		return fmt.Errorf("%s exited while starting: %v%s", n.name(), p.err, tail(n.logPath, 15))
	case ctx.Err() != nil:
		n.kill()
		return ctx.Err()
	case !up:
		n.kill()
		return fmt.Errorf("%s: REST API not answering with its own peer ID %s after start%s", n.name(), startTimeout, tail(n.logPath, 15))
	}
	n.mu.Lock()
	n.ready = true
	n.mu.Unlock()
	return nil
}

// exited records an exit the harness did not cause as a crash.
func (n *node) exited(p *proc) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != p {
		return
	}
	n.proc, n.ready, n.paused = nil, false, false
	if !n.expected {
		n.crashes = append(n.crashes, fmt.Sprintf("%s: %v%s", time.Now().Format(time.TimeOnly), p.err, tail(n.logPath, 10)))
	}
}

// crashList returns the unexpected exits seen, each with the log's tail.
func (n *node) crashList() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, len(n.crashes))
	for k, c := range n.crashes {
		out[k] = n.name() + " exited at " + c
	}
	return out
}

// running returns the process while it is up and ready (nil otherwise).
func (n *node) running() *proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.ready {
		return nil
	}
	return n.proc
}

func (n *node) up() bool { return n.running() != nil }

// kill sends SIGKILL (after noting the process's memory peak) and waits for the exit.
func (n *node) kill() {
	n.mu.Lock()
	p := n.proc
	n.expected = true
	n.mu.Unlock()
	if p == nil {
		return
	}
	n.sampleRSS()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM (SIGCONT first, in case it is paused) and kills after timeout.
func (n *node) stop(timeout time.Duration) {
	n.mu.Lock()
	p := n.proc
	n.expected = true
	n.mu.Unlock()
	if p == nil {
		return
	}
	n.sampleRSS()
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// pause and resume send SIGSTOP and SIGCONT.
func (n *node) pause() bool  { return n.setPaused(true, syscall.SIGSTOP) }
func (n *node) resume() bool { return n.setPaused(false, syscall.SIGCONT) }

func (n *node) setPaused(on bool, sig syscall.Signal) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil || n.paused == on {
		return false
	}
	n.paused = on
	return n.proc.cmd.Process.Signal(sig) == nil
}

// reloadFaults tells a ready daemon to read its fault file again (SIGUSR1). A daemon still
// starting reads the file itself and gets a reload once ready (see cluster.markReady).
func (n *node) reloadFaults() {
	if p := n.running(); p != nil {
		_ = p.cmd.Process.Signal(syscall.SIGUSR1)
	}
}

// sampleRSS records the process's VmHWM (its resident-memory peak so far).
func (n *node) sampleRSS() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.proc.cmd.Process.Pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil && v*1024 > n.hwm {
				n.hwm = v * 1024
			}
		}
	}
}

// tail returns the last n lines of a file, for messages.
func tail(path string, n int) string {
	raw, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n    " + strings.Join(lines, "\n    ")
}
