package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchQueueSize is pin_tracker.max_pin_queue_size for the run: the CIDs are random, so the
// node can never fetch them and every pin stays queued in the tracker (make bench-10m queues
// 10M; the queue is in Badger, so the bound costs no memory).
const benchQueueSize = 20_000_000

// daemon is a running `pincluster daemon` child process.
type daemon struct {
	dir  string // config dir
	cmd  *exec.Cmd
	log  *os.File
	base string // http://127.0.0.1:PORT
	done chan error
}

// jsonEdit sets one key of service.json: path is the key's path ("cluster",
// "monitor_ping_interval"), value its new JSON value.
type jsonEdit struct {
	path  []string
	value any
}

// initConfig runs `init --randomports` in dir and raises the tracker's queue bound.
func initConfig(ctx context.Context, bin, dir string) error {
	return initPeerConfig(ctx, bin, dir, false)
}

// initPeerConfig runs `init --randomports` in dir, raises the tracker's queue bound and applies
// the edits in order. With loopback set, the cluster listens on 127.0.0.1 instead of 0.0.0.0.
func initPeerConfig(ctx context.Context, bin, dir string, loopback bool, edits ...jsonEdit) error {
	out, err := exec.CommandContext(ctx, bin, "--config", dir, "init", "--randomports").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s init --randomports: %v\n%s", bin, err, out)
	}
	path := filepath.Join(dir, "service.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if loopback {
		raw = bytes.ReplaceAll(raw, []byte("/ip4/0.0.0.0/tcp/"), []byte("/ip4/127.0.0.1/tcp/"))
	}
	edits = append([]jsonEdit{{[]string{"pin_tracker", "max_pin_queue_size"}, benchQueueSize}}, edits...)
	for _, e := range edits {
		if raw, err = setJSONKey(raw, e.path, e.value); err != nil {
			return fmt.Errorf("editing %s: %w", path, err)
		}
	}
	return os.WriteFile(path, raw, 0o600)
}

// setJSONKey sets the value at path in a JSON object document, keeping every other key
// (numbers stay exact).
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
			return nil, fmt.Errorf("no object at %q (keys: %s)", k, strings.Join(keys(obj), ", "))
		}
		obj = next
	}
	last := path[len(path)-1]
	if _, ok := obj[last]; !ok {
		return nil, fmt.Errorf("no key %q under %q", last, strings.Join(path[:len(path)-1], "."))
	}
	obj[last] = value
	return json.MarshalIndent(root, "", "  ")
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// startDaemon starts `pincluster --config dir daemon` (output to dir/daemon.log) and waits
// until GET /id answers.
func startDaemon(ctx context.Context, bin, dir string, timeout time.Duration) (*daemon, error) {
	return startDaemonWith(ctx, bin, dir, timeout, nil)
}

// startDaemonWith is startDaemon with extra environment variables (KEY=VALUE) and extra
// daemon arguments (--bootstrap MADDR).
func startDaemonWith(ctx context.Context, bin, dir string, timeout time.Duration, env []string, args ...string) (*daemon, error) {
	logf, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"--config", dir, "daemon"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s daemon: %w", bin, err)
	}
	d := &daemon{dir: dir, cmd: cmd, log: logf, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait() }()
	if err := d.waitReady(ctx, timeout); err != nil {
		d.stop(10 * time.Second)
		return nil, fmt.Errorf("%w (daemon log: %s)", err, tail(logf.Name(), 20))
	}
	return d, nil
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// waitReady polls for dir/api, then GET /id, until the deadline.
func (d *daemon) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if d.base == "" {
			if raw, err := os.ReadFile(filepath.Join(d.dir, "api")); err == nil {
				if base, err := httpBase(strings.TrimSpace(string(raw))); err == nil {
					d.base = base
				}
			}
		}
		if d.base != "" {
			resp, err := http.Get(d.base + "/id")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		select {
		case err := <-d.done:
			d.done <- err
			return fmt.Errorf("daemon exited before its API answered: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("daemon API not answering GET /id after %s", timeout)
		}
	}
}

// httpBase turns /ip4/127.0.0.1/tcp/PORT into http://127.0.0.1:PORT.
func httpBase(maddr string) (string, error) {
	p := strings.Split(strings.Trim(maddr, "/"), "/")
	if len(p) < 4 || p[2] != "tcp" {
		return "", fmt.Errorf("cannot use API multiaddr %q: want /ip4|ip6|dns/HOST/tcp/PORT", maddr)
	}
	if _, err := strconv.Atoi(p[3]); err != nil {
		return "", fmt.Errorf("bad port in API multiaddr %q", maddr)
	}
	host := p[1]
	if p[0] == "ip6" {
		host = "[" + host + "]"
	}
	return "http://" + host + ":" + p[3], nil
}

// kill sends SIGKILL (a peer's sudden death) and waits for the process to exit.
func (d *daemon) kill() {
	defer d.log.Close()
	_ = d.cmd.Process.Kill()
	err := <-d.done
	d.done <- err
}

// stop sends SIGTERM and waits, then kills after timeout.
func (d *daemon) stop(timeout time.Duration) error {
	defer d.log.Close()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("daemon exited with %v after SIGTERM (daemon log: %s)", err, tail(d.log.Name(), 20))
		}
		return err
	case <-time.After(timeout):
		_ = d.cmd.Process.Kill()
		<-d.done
		return fmt.Errorf("daemon did not stop within %s of SIGTERM; killed", timeout)
	}
}

// memStatus reads VmRSS, VmHWM and RssAnon (bytes) from /proc/PID/status. RssAnon is the
// resident memory that is not file-backed: the Go heap and Badger's buffers, without the
// mmapped table and value-log pages that the kernel can drop.
func memStatus(pid int) (rss, hwm, anon int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("reading daemon memory (Linux /proc only): %w", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v * 1024
		case "VmHWM:":
			hwm = v * 1024
		case "RssAnon:":
			anon = v * 1024
		}
	}
	return rss, hwm, anon, nil
}

// dirSize sums the disk space allocated to regular files under dir (Badger preallocates sparse
// value-log files, so apparent sizes overstate it).
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// tail returns the last n lines of a file, for error messages. A panic's or fatal error's first
// line is put before them: after a crash the tail is the end of a goroutine dump, which does
// not say what crashed.
func tail(path string, n int) string {
	raw, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	var crash []string
	for i, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") || strings.HasPrefix(l, "unexpected fault address") {
			crash = append(crash, lines[i:min(i+3, len(lines))]...)
			break
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(crash) > 0 {
		lines = append(append(crash, "..."), lines...)
	}
	return "\n" + strings.Join(lines, "\n")
}

// loadAvg returns the 1-minute load average ("" off Linux): a busy machine slows every figure.
func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// cpuTime is the CPU time (user + system) a process has used so far, from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}
