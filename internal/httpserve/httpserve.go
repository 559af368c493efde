// Package httpserve is the lifecycle the peer's HTTP listeners share (the REST API, the IPFS
// proxy, the Pinning Service API): bind a TCP multiaddress with errors that name the config key
// to change, serve in the background, and stop gracefully.
//
// Decisions:
//   - A connection that has not sent a request yet (a client's pre-dialled spare) is closed at
//     once when a stop begins: net/http counts it busy for its first 5 s, so a SIGTERM right
//     after a client connected waited out the grace and failed the stop. Closing it loses
//     nothing.
//   - Requests still running when the grace ends are cut off and logged; the stop itself
//     succeeds (acknowledged pins are durable already).
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Server runs one http.Server. Its methods are safe for concurrent use.
type Server struct {
	name string // for messages: "restapi", "ipfsproxy", ...
	key  string // the config section of the listen address: "api.restapi", ...
	hint string // what may hold a busy port: "another daemon", ...
	srv  *http.Server
	log  *slog.Logger

	mu      sync.Mutex
	ln      net.Listener
	addr    ma.Multiaddr
	serveCh chan struct{} // closed when Serve returns
	fresh   map[net.Conn]struct{}
	closing bool
}

// New wraps srv (its ConnState is taken). name prefixes errors, key is the config section whose
// listen_multiaddress the errors point to, and hint says what may hold a busy port.
func New(name, key, hint string, srv *http.Server, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{name: name, key: key, hint: hint, srv: srv, log: log, fresh: map[net.Conn]struct{}{}}
	srv.ConnState = s.connState
	return s
}

// Start binds listen (a TCP multiaddress; port 0 picks a free port) and serves in the
// background.
func (s *Server) Start(listen string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return fmt.Errorf("%s: already started", s.name)
	}
	m, err := ma.NewMultiaddr(listen)
	if err != nil {
		return fmt.Errorf("%s.listen_multiaddress: %q is not a multiaddress: %v", s.key, listen, err)
	}
	network, hostport, err := manet.DialArgs(m)
	if err != nil {
		return fmt.Errorf("%s.listen_multiaddress: %v", s.key, err)
	}
	ln, err := net.Listen(network, hostport)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%s: cannot listen on %s: address already in use (is %s running? set %s.listen_multiaddress)", s.name, listen, s.hint, s.key)
		}
		return fmt.Errorf("%s: cannot listen on %s: %v (set %s.listen_multiaddress)", s.name, listen, err, s.key)
	}
	addr, err := manet.FromNetAddr(ln.Addr())
	if err != nil {
		ln.Close()
		return fmt.Errorf("%s: bound address %s: %v", s.name, ln.Addr(), err)
	}
	s.ln, s.addr = ln, addr
	s.serveCh = make(chan struct{})
	go func() { // the accept loop of net/http: an I/O worker
		defer close(s.serveCh)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error(s.name+" stopped serving", "err", err)
		}
	}()
	return nil
}

// Addr is the bound address, or nil before Start.
func (s *Server) Addr() ma.Multiaddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// NetAddr is the bound address as host:port, or "" before Start.
func (s *Server) NetAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting requests and waits for those in flight until ctx ends, then closes
// the remaining connections (logged, not an error).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for c := range s.fresh {
		c.Close()
	}
	s.mu.Unlock()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn(s.name+": requests still running at shutdown were cut off", "err", err)
			err = nil
		}
	}
	s.mu.Lock()
	ch := s.serveCh
	s.mu.Unlock()
	if ch != nil {
		<-ch
	}
	return err
}

// connState tracks the connections that have not sent a request yet.
func (s *Server) connState(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st != http.StateNew {
		delete(s.fresh, c)
		return
	}
	if s.closing {
		c.Close()
		return
	}
	s.fresh[c] = struct{}{}
}

// ParseTCPAddr checks that s is a TCP listen multiaddress (/ip4|/ip6|/dns.../tcp/N); errors
// end with example, a valid address for the key being checked.
func ParseTCPAddr(s, example string) (ma.Multiaddr, error) {
	eg := "(e.g. " + example + ")"
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty address %s", eg)
	}
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a multiaddress: %v %s", s, err, eg)
	}
	if len(m) != 2 {
		return nil, fmt.Errorf("%q must be an IP or DNS address followed by /tcp/PORT %s", s, eg)
	}
	switch m[0].Protocol().Code {
	case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
	default:
		return nil, fmt.Errorf("%q must start with /ip4, /ip6 or /dns %s", s, eg)
	}
	if m[1].Protocol().Code != ma.P_TCP {
		return nil, fmt.Errorf("%q: only tcp is supported %s", s, eg)
	}
	return m, nil
}
