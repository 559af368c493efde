package pinsvc

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/pincluster/pincluster/internal/httpserve"
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

	// life binds, serves and stops srv (internal/httpserve, shared with the REST API).
	life *httpserve.Server
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
	s := &Server{cfg: cfg, d: d, log: logger.With("component", "pinsvc")}
	s.clock.now = time.Now
	s.handler = s.guardBody(http.HandlerFunc(s.route))
	s.srv = &http.Server{
		Handler: s.handler,
		// read_timeout bounds bodies (guardBody), not http.Server's whole request; a header
		// or idle timeout of 0 still falls back to it, as net/http's own fallbacks did.
		ReadHeaderTimeout: cmp.Or(cfg.ReadHeaderTimeout.D(), cfg.ReadTimeout.D()),
		WriteTimeout:      cfg.WriteTimeout.D(),
		IdleTimeout:       cmp.Or(cfg.IdleTimeout.D(), cfg.ReadTimeout.D()),
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.life = httpserve.New("pinsvc", configKey, "another daemon", s.srv, s.log)
	return s, nil
}

// Handler is the whole HTTP handler, for httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Start binds the listen address and serves in the background.
func (s *Server) Start() error {
	if err := s.life.Start(s.cfg.ListenMultiaddress); err != nil {
		return err
	}
	s.log.Info("IPFS Pinning Service API listening", "addr", s.life.Addr().String())
	return nil
}

// Addr is the bound address, or nil before Start.
func (s *Server) Addr() ma.Multiaddr { return s.life.Addr() }

// URL is the base URL clients use (http://host:port), or "" before Start.
func (s *Server) URL() string {
	if a := s.life.NetAddr(); a != "" {
		return "http://" + a
	}
	return ""
}

// Shutdown stops accepting requests and waits for those in flight until ctx ends, then closes
// the remaining connections (logged, not an error).
func (s *Server) Shutdown(ctx context.Context) error { return s.life.Shutdown(ctx) }
