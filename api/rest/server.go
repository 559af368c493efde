package rest

import (
	"context"
	"log/slog"
	"net/http"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/pincluster/pincluster/internal/httpserve"
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

	// life binds, serves and stops srv (internal/httpserve, shared with the other listeners).
	life *httpserve.Server
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
	}
	s.life = httpserve.New("restapi", configKey, "another daemon", s.srv, s.log)
	return s, nil
}

// Handler is the server's whole HTTP handler (routes and middleware), for httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Start binds the listen address and serves in the background. It fails clearly when the
// address is in use.
func (s *Server) Start() error {
	if err := s.life.Start(s.cfg.ListenMultiaddress); err != nil {
		return err
	}
	s.log.Info("REST API listening", "addr", s.life.Addr().String())
	return nil
}

// Addr is the bound address (with the real port when port 0 was asked), or nil before Start.
func (s *Server) Addr() ma.Multiaddr { return s.life.Addr() }

// Shutdown stops accepting requests and waits for those in flight until ctx ends, then closes
// the remaining connections (logged, not an error: a stop is not failed by a slow client).
func (s *Server) Shutdown(ctx context.Context) error { return s.life.Shutdown(ctx) }
