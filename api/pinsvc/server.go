package pinsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Server is the pinning service API. Start binds and serves; Shutdown stops it.
type Server struct {
	cfg     Config
	d       Deps
	log     *slog.Logger
	handler http.Handler
	srv     *http.Server
	clock   createdClock

	// addrs caches the peers' IPFS addresses (status.go).
	addrsMu sync.Mutex
	addrs   map[string][]string
	addrsAt time.Time

	// writeMu serializes this peer's read-modify-write of pins (add, replace, remove).
	writeMu sync.Mutex

	mu      sync.Mutex
	ln      net.Listener
	addr    ma.Multiaddr
	serveCh chan struct{}
	fresh   map[net.Conn]struct{}
	closing bool
}

// New validates cfg and builds the server. It does not listen until Start.
func New(cfg Config, d Deps, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{cfg: cfg, d: d, log: logger.With("component", "pinsvc"), fresh: map[net.Conn]struct{}{}}
	s.clock.now = time.Now
	s.handler = http.HandlerFunc(s.route)
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout.D(),
		ReadTimeout:       cfg.ReadTimeout.D(),
		WriteTimeout:      cfg.WriteTimeout.D(),
		IdleTimeout:       cfg.IdleTimeout.D(),
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnState:         s.connState,
	}
	return s, nil
}

// Handler is the whole HTTP handler, for httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Start binds the listen address and serves in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("pinsvc: already started")
	}
	m, err := parseTCPAddr(s.cfg.ListenMultiaddress)
	if err != nil {
		return fmt.Errorf("%s.listen_multiaddress: %w", configKey, err)
	}
	network, hostport, err := manet.DialArgs(m)
	if err != nil {
		return fmt.Errorf("%s.listen_multiaddress: %v", configKey, err)
	}
	ln, err := net.Listen(network, hostport)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("pinsvc: cannot listen on %s: address already in use (is another daemon running? set %s.listen_multiaddress)", s.cfg.ListenMultiaddress, configKey)
		}
		return fmt.Errorf("pinsvc: cannot listen on %s: %v (set %s.listen_multiaddress)", s.cfg.ListenMultiaddress, err, configKey)
	}
	addr, err := manet.FromNetAddr(ln.Addr())
	if err != nil {
		ln.Close()
		return fmt.Errorf("pinsvc: bound address %s: %v", ln.Addr(), err)
	}
	s.ln, s.addr = ln, addr
	s.serveCh = make(chan struct{})
	go func() {
		defer close(s.serveCh)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("pinning service API stopped", "err", err)
		}
	}()
	s.log.Info("IPFS Pinning Service API listening", "addr", addr.String())
	return nil
}

// Addr is the bound address, or nil before Start.
func (s *Server) Addr() ma.Multiaddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URL is the base URL clients use (http://host:port), or "" before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
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
			s.log.Warn("pinning service API: requests still running at shutdown were cut off", "err", err)
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
