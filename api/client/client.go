package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/pincluster/pincluster/api"
)

// DefaultHost is the REST API address used when no host is configured.
const DefaultHost = "/ip4/127.0.0.1/tcp/9094"

// Config configures a Client.
type Config struct {
	// Hosts are REST API multiaddrs (e.g. /ip4/127.0.0.1/tcp/9094, /dns4/example.com/tcp/9094),
	// tried in order with fail-over on connection errors. Plain host:port and http(s):// URLs
	// are accepted too. Empty means DefaultHost.
	Hosts []string
	// Timeout bounds every call, streams included (0 = no limit beyond the caller's context).
	Timeout time.Duration
	// Username and Password enable HTTP basic auth when Username is set.
	Username, Password string
	// Token, when set, is sent as "Authorization: Bearer <Token>" instead of basic auth
	// (Client.Token asks for one).
	Token string
	// HTTPS selects https:// for multiaddr and host:port hosts.
	HTTPS bool
	// HTTPClient replaces the default HTTP client (tests, custom TLS).
	HTTPClient *http.Client
}

// Client talks to one pincluster peer's REST API (with fail-over between Hosts). It is safe for
// concurrent use.
type Client struct {
	cfg   Config
	hc    *http.Client
	hosts []host

	mu  sync.Mutex
	cur int // index of the host that last answered
}

type host struct {
	maddr string // as configured, for messages
	base  string // scheme://host:port
}

// New validates cfg and returns a Client. It does not contact the API.
func New(cfg Config) (*Client, error) {
	if len(cfg.Hosts) == 0 {
		cfg.Hosts = []string{DefaultHost}
	}
	c := &Client{cfg: cfg, hc: cfg.HTTPClient}
	if c.hc == nil {
		c.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	for _, h := range cfg.Hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		base, err := baseURL(h, cfg.HTTPS)
		if err != nil {
			return nil, err
		}
		c.hosts = append(c.hosts, host{maddr: h, base: base})
	}
	if len(c.hosts) == 0 {
		return nil, fmt.Errorf("no API host given: set --host to a multiaddr such as %s", DefaultHost)
	}
	return c, nil
}

// baseURL turns a multiaddr, host:port or URL into scheme://host:port.
func baseURL(h string, https bool) (string, error) {
	scheme := "http"
	if https {
		scheme = "https"
	}
	if strings.HasPrefix(h, "http://") || strings.HasPrefix(h, "https://") {
		u, err := url.Parse(h)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("bad API URL %q: use a multiaddr such as %s", h, DefaultHost)
		}
		return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
	}
	if !strings.HasPrefix(h, "/") {
		if _, _, err := net.SplitHostPort(h); err != nil {
			return "", fmt.Errorf("bad API address %q: use a multiaddr such as %s", h, DefaultHost)
		}
		return scheme + "://" + h, nil
	}
	m, err := ma.NewMultiaddr(h)
	if err != nil {
		return "", fmt.Errorf("bad API multiaddr %q: %v (use e.g. %s)", h, err, DefaultHost)
	}
	var hostPart, port string
	for _, comp := range m {
		switch comp.Protocol().Code {
		case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
			hostPart = comp.Value()
		case ma.P_TCP:
			port = comp.Value()
		case ma.P_HTTPS, ma.P_TLS:
			scheme = "https"
		}
	}
	if hostPart == "" || port == "" {
		return "", fmt.Errorf("bad API multiaddr %q: it needs an ip4/ip6/dns part and a tcp port (e.g. %s)", h, DefaultHost)
	}
	return scheme + "://" + net.JoinHostPort(hostPart, port), nil
}

// request describes one API call. body, when set, is called once per attempt so that a
// fail-over can resend it.
type request struct {
	method string
	path   string // already escaped
	query  url.Values
	body   func() (io.ReadCloser, string, error) // reader, content type
	// basicAuth prefers basic auth over Config.Token (POST /token).
	basicAuth bool
	accept    string // the Accept header ("": application/json)
	// expect100 sends "Expect: 100-continue" with a long body (add, batch): the body waits for
	// the server's go-ahead, so a refusal (403 for a client without pin permission, 401) is
	// read as such, not lost in a reset while the upload was still going.
	expect100 bool
}

// do sends req to the current host, failing over to the next ones on connection errors. On
// success the caller owns resp.Body; API errors (status >= 300) are returned as api.Error.
func (c *Client) do(ctx context.Context, req request) (*http.Response, error) {
	c.mu.Lock()
	start := c.cur
	c.mu.Unlock()
	var connErrs []string
	for i := 0; i < len(c.hosts); i++ {
		idx := (start + i) % len(c.hosts)
		h := c.hosts[idx]
		resp, err := c.send(ctx, h, req)
		if err == nil {
			c.mu.Lock()
			c.cur = idx
			c.mu.Unlock()
			if resp.StatusCode >= 300 {
				defer resp.Body.Close()
				return nil, decodeAPIError(resp)
			}
			return resp, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, wrapCtxErr(ctx, h.maddr)
		}
		if !isConnError(err) {
			return nil, fmt.Errorf("request to the pincluster daemon at %s failed: %w", h.maddr, err)
		}
		connErrs = append(connErrs, h.maddr+": "+connReason(err))
	}
	return nil, &ConnError{Msg: fmt.Sprintf("cannot reach the pincluster daemon at %s (is `pincluster daemon` running? set --host or --config)", strings.Join(connErrs, ", "))}
}

// ConnError is returned when no host could be reached.
type ConnError struct{ Msg string }

func (e *ConnError) Error() string { return e.Msg }

func (c *Client) send(ctx context.Context, h host, req request) (*http.Response, error) {
	u := h.base + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.ReadCloser
	var ctype string
	if req.body != nil {
		var err error
		body, ctype, err = req.body()
		if err != nil {
			return nil, err
		}
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	if req.expect100 {
		hr.Header.Set("Expect", "100-continue")
	}
	accept := req.accept
	if accept == "" {
		accept = "application/json"
	}
	hr.Header.Set("Accept", accept)
	switch {
	case c.cfg.Token != "" && !(req.basicAuth && c.cfg.Username != ""):
		hr.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	case c.cfg.Username != "":
		hr.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	return c.hc.Do(hr)
}

func isConnError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

func connReason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// wrapCtxErr explains a cancelled or expired context, keeping it matchable with errors.Is.
func wrapCtxErr(ctx context.Context, where string) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("request to %s timed out (raise --timeout): %w", where, context.DeadlineExceeded)
	}
	return fmt.Errorf("request to %s: %w", where, err)
}

// decodeAPIError reads an error body {"code","message"}; other bodies become the message.
func decodeAPIError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e api.Error
	if err := json.Unmarshal(b, &e); err != nil || e.Message == "" {
		msg := strings.TrimSpace(string(b))
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		e = api.Error{Code: resp.StatusCode, Message: msg}
	}
	if e.Code == 0 {
		e.Code = resp.StatusCode
	}
	return e
}

// withTimeout applies Config.Timeout to ctx.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.cfg.Timeout > 0 {
		return context.WithTimeout(ctx, c.cfg.Timeout)
	}
	return context.WithCancel(ctx)
}

// hostName is the host currently in use, for messages.
func (c *Client) hostName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hosts[c.cur].maddr
}

// getJSON sends req and decodes a single JSON object into out.
func (c *Client) getJSON(ctx context.Context, req request, out any) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	} else {
		err = json.NewDecoder(resp.Body).Decode(out)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return wrapCtxErr(ctx, c.hostName())
		}
		return fmt.Errorf("bad response from %s %s: %w", req.method, req.path, err)
	}
	return nil
}
