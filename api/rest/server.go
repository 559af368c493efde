package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Server is the REST API server. Start binds and serves; Shutdown stops it.
type Server struct {
	cfg     Config
	svc     Services
	log     *slog.Logger
	handler http.Handler
	srv     *http.Server
	// patterns are the registered routes, in order (routes.go).
	patterns []string

	mu      sync.Mutex
	ln      net.Listener
	addr    ma.Multiaddr
	serveCh chan struct{} // closed when Serve returns
	// fresh are connections that have not sent a request yet (a client's pre-dialled spare).
	// net/http counts them busy for their first 5 s, so Shutdown would wait for them; closing
	// them loses nothing. closing is set once Shutdown began: later fresh connections close at
	// once.
	fresh   map[net.Conn]struct{}
	closing bool
}

// NewServer validates cfg and builds a server for svc. It does not listen until Start.
func NewServer(cfg Config, svc Services, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := svc.check(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{cfg: cfg, svc: svc, log: logger.With("component", "restapi")}
	s.handler = s.middleware(s.routes())
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnState:         s.connState,
	}
	s.fresh = make(map[net.Conn]struct{})
	return s, nil
}

// Handler is the server's whole HTTP handler (routes and middleware), for httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Start binds the listen address and serves in the background. It fails clearly when the
// address is in use.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("restapi: already started")
	}
	m, err := parseListenAddr(s.cfg.ListenMultiaddress)
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
			return fmt.Errorf("restapi: cannot listen on %s: address already in use (is another daemon running? set %s.listen_multiaddress)", s.cfg.ListenMultiaddress, configKey)
		}
		return fmt.Errorf("restapi: cannot listen on %s: %v (set %s.listen_multiaddress)", s.cfg.ListenMultiaddress, err, configKey)
	}
	addr, err := manet.FromNetAddr(ln.Addr())
	if err != nil {
		ln.Close()
		return fmt.Errorf("restapi: bound address %s: %v", ln.Addr(), err)
	}
	s.ln, s.addr = ln, addr
	s.serveCh = make(chan struct{})
	go func() {
		defer close(s.serveCh)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("REST API server stopped", "err", err)
		}
	}()
	s.log.Info("REST API listening", "addr", addr.String())
	return nil
}

// Addr is the bound address (with the real port when port 0 was asked), or nil before Start.
func (s *Server) Addr() ma.Multiaddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops accepting requests and waits for those in flight until ctx ends, then closes
// the remaining connections (logged, not an error: a stop is not failed by a slow client).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for c := range s.fresh {
		c.Close()
	}
	s.mu.Unlock()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Requests still running past the grace (a long listing, a slow client): cut them.
		// Acknowledged pins are durable already, so this is a note, not a failed stop.
		s.srv.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("REST API: requests still running at shutdown were cut off", "err", err)
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

// connState tracks connections that have not sent a request yet (see Server.fresh).
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
