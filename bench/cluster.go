package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// cluster is a set of pincluster daemons on loopback sharing one secret, each in dir/pN.
// Peer 1 is the bootstrap peer of every other.
type cluster struct {
	bin    string
	dir    string
	secret string
	env    []string   // extra daemon environment (CLUSTER_...=...)
	edits  []jsonEdit // service.json edits for every peer
	peers  []*daemon  // nil once killed or stopped
	ids    []string   // peer IDs, by index
	boot   string     // peer 1's loopback multiaddr with /p2p/ID
	hc     *http.Client
}

func newCluster(bin, dir string, env []string, edits ...jsonEdit) *cluster {
	var s [32]byte
	_, _ = rand.Read(s[:])
	return &cluster{bin: bin, dir: dir, secret: hex.EncodeToString(s[:]), env: env, edits: edits, hc: newHTTPClient()}
}

// otherBases are the API base URLs of every peer but peer 1.
func (c *cluster) otherBases() []string {
	var bases []string
	for _, d := range c.peers[1:] {
		bases = append(bases, d.base)
	}
	return bases
}

// start starts n peers one after the other and waits until peer 1 lists all of them.
func (c *cluster) start(ctx context.Context, n int) error {
	for range n {
		if _, err := c.addPeer(ctx); err != nil {
			return err
		}
	}
	return c.waitPeers(ctx, len(c.peers), 60*time.Second)
}

// addPeer inits and starts one more peer (bootstrapped to peer 1 unless it is peer 1).
func (c *cluster) addPeer(ctx context.Context) (*daemon, error) {
	i := len(c.peers)
	dir := filepath.Join(c.dir, fmt.Sprintf("p%d", i+1))
	edits := append([]jsonEdit{{[]string{"cluster", "secret"}, c.secret}}, c.edits...)
	if err := initPeerConfig(ctx, c.bin, dir, true, edits...); err != nil {
		return nil, err
	}
	var args []string
	if c.boot != "" {
		args = []string{"--bootstrap", c.boot}
	}
	d, err := startDaemonWith(ctx, c.bin, dir, 60*time.Second, c.env, args...)
	if err != nil {
		return nil, fmt.Errorf("peer %d: %w", i+1, err)
	}
	c.peers = append(c.peers, d)
	var id struct {
		ID        string   `json:"id"`
		Addresses []string `json:"addresses"`
	}
	if err := getJSON(ctx, c.hc, d.base+"/id", &id); err != nil {
		return nil, fmt.Errorf("peer %d: %w", i+1, err)
	}
	c.ids = append(c.ids, id.ID)
	if c.boot == "" {
		// Loopback, unless -bin runs each peer in a network namespace of its own
		// (scripts/netns-cluster.sh net): then peer 1's one IPv4 address.
		for _, loopback := range []bool{true, false} {
			for _, a := range id.Addresses {
				if c.boot == "" && strings.HasPrefix(a, "/ip4/") && strings.Contains(a, "/127.0.0.1/") == loopback {
					c.boot = a
				}
			}
		}
		if c.boot == "" {
			return nil, fmt.Errorf("peer 1 has no IPv4 address to bootstrap from: GET /id addresses = %v", id.Addresses)
		}
		if !strings.Contains(c.boot, "/p2p/") {
			c.boot += "/p2p/" + id.ID
		}
	}
	return d, nil
}

// waitPeers waits until every live peer lists n peers without error in GET /peers.
func (c *cluster) waitPeers(ctx context.Context, n int, timeout time.Duration) error {
	return waitFor(ctx, timeout, 200*time.Millisecond, func() (bool, string) {
		for i, d := range c.peers {
			if d == nil {
				continue
			}
			lines, err := getLines(ctx, c.hc, d.base+"/peers")
			if err != nil {
				return false, err.Error()
			}
			ok := 0
			for _, l := range lines {
				var p struct {
					Error string `json:"error"`
				}
				if json.Unmarshal(l, &p) == nil && p.Error == "" {
					ok++
				}
			}
			if ok < n {
				return false, fmt.Sprintf("peer %d lists %d of %d peers", i+1, ok, n)
			}
		}
		return true, ""
	})
}

// waitMetric waits until peer i holds a valid metric name from n peers (GET /monitor/metrics/NAME).
func (c *cluster) waitMetric(ctx context.Context, i int, name string, n int, timeout time.Duration) error {
	return waitFor(ctx, timeout, 200*time.Millisecond, func() (bool, string) {
		lines, err := getLines(ctx, c.hc, c.peers[i].base+"/monitor/metrics/"+name)
		if err != nil {
			return false, err.Error()
		}
		peers := map[string]bool{}
		for _, l := range lines {
			var m struct {
				Peer  string `json:"peer"`
				Valid bool   `json:"valid"`
			}
			if json.Unmarshal(l, &m) == nil && m.Valid {
				peers[m.Peer] = true
			}
		}
		return len(peers) >= n, fmt.Sprintf("peer %d has valid %q metrics from %d of %d peers", i+1, name, len(peers), n)
	})
}

// stop stops every live peer (SIGTERM) and returns the first error.
func (c *cluster) stop() error {
	var errs []error
	for i, d := range c.peers {
		if d == nil {
			continue
		}
		if err := d.stop(30 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("peer %d: %w", i+1, err))
		}
		c.peers[i] = nil
	}
	return errors.Join(errs...)
}

// withLogs adds the tail of each peer's log to err.
func (c *cluster) withLogs(err error) error {
	if err == nil {
		return nil
	}
	var b strings.Builder
	for i := range c.ids {
		name := filepath.Join(c.dir, fmt.Sprintf("p%d", i+1), "daemon.log")
		fmt.Fprintf(&b, "\npeer %d log (%s):%s", i+1, name, tail(name, 8))
	}
	return fmt.Errorf("%w%s", err, b.String())
}

// waitFor polls cond every interval until it holds, ctx ends or timeout passes; the error
// carries cond's last explanation.
func waitFor(ctx context.Context, timeout, interval time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s: %s", timeout, why)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// getJSON decodes one JSON document from GET url.
func getJSON(ctx context.Context, hc *http.Client, url string, v any) error {
	body, err := get(ctx, hc, url)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: decoding: %w", url, err)
	}
	return nil
}

// getLines returns the items of a listing: a JSON array or one JSON value per line.
func getLines(ctx context.Context, hc *http.Client, url string) ([]json.RawMessage, error) {
	body, err := get(ctx, hc, url)
	if err != nil {
		return nil, err
	}
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var out []json.RawMessage
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, fmt.Errorf("GET %s: %w", url, err)
		}
		return out, nil
	}
	var out []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, json.RawMessage(bytes.Clone(l)))
		}
	}
	return out, sc.Err()
}

func get(ctx context.Context, hc *http.Client, url string) ([]byte, error) {
	var body bytes.Buffer
	if err := getInto(ctx, hc, url, &body); err != nil {
		return nil, err
	}
	return body.Bytes(), nil
}

// getInto copies the body of GET url into w, streamed; an answer other than 200, or a stream
// error in the trailer, is an error (a non-200 body goes into its message, not into w).
func getInto(ctx context.Context, hc *http.Client, url string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	if _, err := io.CopyBuffer(w, resp.Body, make([]byte, 256<<10)); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if e := resp.Trailer.Get("X-Stream-Error"); e != "" {
		return fmt.Errorf("GET %s: stream error: %s", url, e)
	}
	return nil
}

// status returns the HTTP status of GET url (draining the body), for existence checks.
func status(ctx context.Context, hc *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// serveLoopback serves h on 127.0.0.1 on a free port; close the returned server to stop it.
func serveLoopback(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), nil
}
