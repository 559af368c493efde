package ipfsproxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/pincluster/pincluster/internal/httpserve"
)

// apiPrefix is Kubo's RPC API path.
const apiPrefix = "/api/v0/"

// Server is the IPFS proxy. Start binds and serves; Shutdown stops it.
type Server struct {
	cfg     Config
	d       Deps
	log     *slog.Logger
	handler http.Handler
	srv     *http.Server
	forward *httputil.ReverseProxy // nil with the embedded backend

	// cluster are the endpoints the proxy handles itself whatever the backend; local those it
	// serves from the embedded node (with the kubo backend they go to Kubo).
	cluster map[string]http.HandlerFunc
	local   map[string]http.HandlerFunc

	// life binds, serves and stops srv (internal/httpserve, shared with the REST API).
	life *httpserve.Server
}

// New validates cfg and builds the proxy. It does not listen until Start.
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
	s := &Server{cfg: cfg, d: d, log: logger.With("component", "ipfsproxy")}
	if d.Forward != "" {
		rp, err := s.reverseProxy(d.Forward)
		if err != nil {
			return nil, err
		}
		s.forward = rp
	}
	s.cluster = map[string]http.HandlerFunc{
		"pin/add":    s.pinAdd,
		"pin/rm":     s.pinRm,
		"pin/update": s.pinUpdate,
		"pin/ls":     s.pinLs,
		"add":        s.add,
		"repo/stat":  s.repoStat,
		"repo/gc":    s.repoGC,
	}
	s.local = map[string]http.HandlerFunc{
		"id":         s.id,
		"version":    s.version,
		"cat":        s.cat,
		"block/get":  s.blockGet,
		"dag/export": s.dagExport,
		"dag/import": s.dagImport,
	}
	s.handler = http.HandlerFunc(s.route)
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout.D(),
		ReadTimeout:       cfg.ReadTimeout.D(),
		WriteTimeout:      cfg.WriteTimeout.D(),
		IdleTimeout:       cfg.IdleTimeout.D(),
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.life = httpserve.New("ipfsproxy", configKey, "another daemon or Kubo", s.srv, s.log)
	return s, nil
}

// Handler is the whole HTTP handler, for httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// route sends a request to its handler: the cluster operations, then Kubo (kubo backend) or
// the embedded node's endpoints and a 501 for the others.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		// No authentication: a web page must not drive the proxy from a browser (cross-site
		// POSTs carry an Origin). Kubo refuses foreign origins the same way.
		writeErrorStatus(w, http.StatusForbidden, codeClient, "403 - Forbidden: cross-origin request (Origin "+r.Header.Get("Origin")+" is not this API's); the IPFS proxy has no authentication and refuses browser requests from other sites")
		return
	}
	cmd, isAPI := strings.CutPrefix(r.URL.Path, apiPrefix)
	cmd = strings.TrimSuffix(cmd, "/")
	if isAPI {
		if h, ok := s.cluster[cmd]; ok {
			s.serveCommand(w, r, h)
			return
		}
	}
	if s.forward != nil {
		s.forward.ServeHTTP(w, r)
		return
	}
	if !isAPI {
		writeErrorStatus(w, http.StatusNotFound, codeClient, fmt.Sprintf("404 page not found: the IPFS proxy serves Kubo's RPC API under %s", apiPrefix))
		return
	}
	if h, ok := s.local[cmd]; ok {
		s.serveCommand(w, r, h)
		return
	}
	writeErrorStatus(w, http.StatusNotImplemented, codeNormal, fmt.Sprintf("%s is not implemented by pincluster's IPFS proxy with the embedded IPFS backend: it serves %s and the cluster operations %s (use the kubo backend to reach every Kubo command)",
		cmd, strings.Join(sortedKeys(s.local), ", "), strings.Join(sortedKeys(s.cluster), ", ")))
}

// serveCommand checks the method (Kubo's RPC API is POST only) and runs h.
func (s *Server) serveCommand(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeErrorStatus(w, http.StatusMethodNotAllowed, codeClient, fmt.Sprintf("405 - Method Not Allowed: %s %s (Kubo's RPC API takes POST)", r.Method, r.URL.Path))
		return
	}
	h(w, r)
}

// reverseProxy forwards requests to the Kubo RPC API at addr (a TCP multiaddress), streaming
// responses as they come (FlushInterval -1: pubsub sub, log tail).
func (s *Server) reverseProxy(addr string) (*httputil.ReverseProxy, error) {
	m, err := httpserve.ParseTCPAddr(addr, DefaultListen)
	if err != nil {
		return nil, fmt.Errorf("%s.node_multiaddress: %w", configKey, err)
	}
	_, hostport, err := manet.DialArgs(m)
	if err != nil {
		return nil, fmt.Errorf("%s.node_multiaddress: %v", configKey, err)
	}
	target := &url.URL{Scheme: "http", Host: hostport}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
		},
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away
			}
			s.log.Warn("forwarding to Kubo failed", "path", r.URL.Path, "err", err)
			writeErrorStatus(w, http.StatusBadGateway, codeNormal, fmt.Sprintf("cannot reach Kubo's RPC API at %s: %v", addr, err))
		},
	}, nil
}

// Start binds the listen address and serves in the background.
func (s *Server) Start() error {
	if err := s.life.Start(s.cfg.ListenMultiaddress); err != nil {
		return err
	}
	to := "the embedded IPFS node"
	if s.d.Forward != "" {
		to = "Kubo at " + s.d.Forward
	}
	s.log.Info("IPFS proxy listening", "addr", s.life.Addr().String(), "other endpoints", to)
	return nil
}

// Addr is the bound address, or nil before Start.
func (s *Server) Addr() ma.Multiaddr { return s.life.Addr() }

// Shutdown stops accepting requests and waits for those in flight until ctx ends, then closes
// the remaining connections (logged, not an error).
func (s *Server) Shutdown(ctx context.Context) error { return s.life.Shutdown(ctx) }

// sameOrigin is false when the request comes from a web page of another origin: an Origin (or,
// without it, a Referer) whose host is not the one the request was sent to. Clients that are not
// browsers send neither.
func sameOrigin(r *http.Request) bool {
	from := r.Header.Get("Origin")
	if from == "" {
		from = r.Header.Get("Referer")
	}
	if from == "" {
		return true
	}
	u, err := url.Parse(from)
	if err != nil || u.Host == "" {
		return false // "null" and other opaque origins
	}
	return strings.EqualFold(u.Host, r.Host)
}
