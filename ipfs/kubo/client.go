package kubo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// DefaultRequestTimeout bounds the short calls when Config.RequestTimeout is 0.
const DefaultRequestTimeout = 5 * time.Minute

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// Config configures the connection to a Kubo daemon.
type Config struct {
	// NodeMultiaddress is Kubo's RPC API address: a multiaddress (/ip4/127.0.0.1/tcp/5001,
	// /dns4/ipfs/tcp/5001, /unix/path/to/api.sock; a trailing /https uses TLS) or an http(s) URL.
	NodeMultiaddress string
	// RequestTimeout bounds ID, IsPinned, RepoStat and Resolve (0 = DefaultRequestTimeout).
	RequestTimeout time.Duration
	// ResolveTimeout bounds the name lookup of an /ipns/ Resolve (0 = ipfs.DefaultResolveTimeout);
	// Kubo is told it as dht-timeout.
	ResolveTimeout time.Duration
	// HTTPClient, when set, replaces the default client (e.g. to add authentication). Its
	// Timeout should be 0: Pin and Add can legitimately take hours.
	HTTPClient *http.Client
}

// Node is a Kubo daemon reached over its HTTP RPC API. It implements ipfs.Backend.
type Node struct {
	cfg    Config
	base   string // http://host:port/api/v0/
	client *http.Client

	life    sync.Mutex
	closed  bool
	ops     sync.WaitGroup
	stopCtx context.Context
	stop    context.CancelFunc
}

var _ ipfs.Backend = (*Node)(nil)

// New connects to the Kubo daemon at cfg.NodeMultiaddress and checks it answers /api/v0/id.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.ResolveTimeout <= 0 {
		cfg.ResolveTimeout = ipfs.DefaultResolveTimeout
	}
	base, dial, err := apiBase(cfg.NodeMultiaddress)
	if err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if dial != nil {
			tr.DialContext = dial
		}
		tr.MaxIdleConnsPerHost = 64
		client = &http.Client{Transport: tr}
	}
	n := &Node{cfg: cfg, base: base, client: client}
	n.stopCtx, n.stop = context.WithCancel(context.Background())
	if _, err := n.ID(ctx); err != nil {
		n.Close()
		return nil, fmt.Errorf("cannot reach Kubo at %s: is `ipfs daemon` running? (set ipfs_connector.node_multiaddress to its API address): %w",
			cfg.NodeMultiaddress, err)
	}
	return n, nil
}

// apiBase turns the configured address into the API's base URL, and a dialer for unix sockets.
func apiBase(addr string) (string, func(context.Context, string, string) (net.Conn, error), error) {
	if addr == "" {
		return "", nil, fmt.Errorf("%w: kubo: node_multiaddress is empty (e.g. /ip4/127.0.0.1/tcp/5001)", api.ErrInvalid)
	}
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		u, err := url.Parse(addr)
		if err != nil || u.Host == "" {
			return "", nil, fmt.Errorf("%w: kubo: node_multiaddress %q is not a valid URL", api.ErrInvalid, addr)
		}
		return strings.TrimSuffix(u.String(), "/") + "/api/v0/", nil, nil
	}
	scheme := "http"
	trimmed := addr
	for _, sfx := range []struct{ suffix, scheme string }{{"/tls/http", "https"}, {"/https", "https"}, {"/http", "http"}} {
		if strings.HasSuffix(trimmed, sfx.suffix) {
			trimmed, scheme = strings.TrimSuffix(trimmed, sfx.suffix), sfx.scheme
			break
		}
	}
	m, err := ma.NewMultiaddr(trimmed)
	if err != nil {
		return "", nil, fmt.Errorf("%w: kubo: node_multiaddress %q is not a multiaddress: %v", api.ErrInvalid, addr, err)
	}
	network, host, err := manet.DialArgs(m)
	if err != nil {
		return "", nil, fmt.Errorf("%w: kubo: node_multiaddress %q: %v (use e.g. /ip4/127.0.0.1/tcp/5001)", api.ErrInvalid, addr, err)
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return "", nil, fmt.Errorf("%w: kubo: node_multiaddress %q is not a TCP or unix socket address (use e.g. /ip4/127.0.0.1/tcp/5001)", api.ErrInvalid, addr)
	}
	if network == "unix" {
		var d net.Dialer
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "unix", host) }
		return scheme + "://unix/api/v0/", dial, nil
	}
	return scheme + "://" + host + "/api/v0/", nil, nil
}

// begin admits a call: it returns a context cancelled by ctx or Close (and by the request
// timeout when timed), and a done func the caller must defer. After Close it returns
// ipfs.ErrClosed.
func (n *Node) begin(ctx context.Context, timed bool) (context.Context, func(), error) {
	n.life.Lock()
	defer n.life.Unlock()
	if n.closed {
		return ctx, func() {}, ipfs.ErrClosed
	}
	n.ops.Add(1)
	var cancel context.CancelFunc
	if timed {
		ctx, cancel = context.WithTimeout(ctx, n.cfg.RequestTimeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	stop := context.AfterFunc(n.stopCtx, cancel)
	return ctx, func() { stop(); cancel(); n.ops.Done() }, nil
}

// Close cancels the calls in flight, waits for them and makes later calls return
// ipfs.ErrClosed. The daemon keeps running. It is idempotent.
func (n *Node) Close() error {
	n.life.Lock()
	if n.closed {
		n.life.Unlock()
		return nil
	}
	n.closed = true
	n.stop()
	n.life.Unlock()
	n.ops.Wait()
	n.client.CloseIdleConnections()
	return nil
}

// request is one RPC call.
type request struct {
	cmd         string
	query       url.Values
	body        io.Reader
	contentType string
}

// do POSTs the request and returns the response of a successful call; the caller closes its
// body. A failed call returns an error describing it (see callErr).
func (n *Node) do(ctx context.Context, r request) (*http.Response, error) {
	u := n.base + r.cmd
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, r.body)
	if err != nil {
		return nil, fmt.Errorf("kubo %s: %w", r.cmd, err)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, n.transportErr(ctx, r.cmd, err)
	}
	if resp.StatusCode >= http.StatusBadRequest {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, parseError(r.cmd, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return resp, nil
}

// call runs a request and hands the body to decode, then checks the stream's error trailer.
func (n *Node) call(ctx context.Context, r request, decode func(io.Reader) error) error {
	resp, err := n.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := decode(resp.Body); err != nil {
		if ctx.Err() != nil {
			return n.transportErr(ctx, r.cmd, err)
		}
		var ke *Error
		if errors.As(err, &ke) {
			return err
		}
		// A stream cut by an error ends early: prefer the daemon's explanation.
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		if tr := resp.Trailer.Get(streamErrHeader); tr != "" {
			return &Error{Command: r.cmd, Message: tr}
		}
		return fmt.Errorf("kubo %s: bad response: %w", r.cmd, err)
	}
	// Drain so the trailer is read.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return n.transportErr(ctx, r.cmd, err)
	}
	if tr := resp.Trailer.Get(streamErrHeader); tr != "" {
		return &Error{Command: r.cmd, Message: tr}
	}
	return nil
}

// transportErr explains a failure to talk to the daemon (or a cancelled call).
func (n *Node) transportErr(ctx context.Context, cmd string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: kubo %s: %w", api.ErrTimeout, cmd, ctx.Err())
	case ctx.Err() != nil:
		n.life.Lock()
		closed := n.closed
		n.life.Unlock()
		if closed {
			return fmt.Errorf("kubo %s: %w", cmd, ipfs.ErrClosed)
		}
		return fmt.Errorf("kubo %s: %w", cmd, ctx.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: kubo %s: %v", api.ErrTimeout, cmd, err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("%w: kubo %s: cannot connect to %s: %v", api.ErrUnavailable, cmd, n.cfg.NodeMultiaddress, err)
	}
	return fmt.Errorf("kubo %s: %w", cmd, err)
}
