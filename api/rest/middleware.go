package rest

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// middleware wraps the routes with, outermost first: request logging, CORS, the body guard
// (body.go: read_timeout, no draining of unread bodies), authentication (auth.go; each route
// checks its permission), the body limit (a body other than POST /add's and POST
// /pins/batch's is read whole here) and JSON answers for unknown routes and methods. Nothing
// reads a body before authentication has passed.
func (s *Server) middleware(mux *http.ServeMux) http.Handler {
	var h http.Handler = jsonMux{mux}
	h = s.limitBody(h)
	h = s.auth(h)
	h = s.guardBody(h)
	h = s.cors(h)
	return s.logRequests(h)
}

// jsonMux answers unknown routes (404) and wrong methods (405) with a JSON api.Error instead
// of ServeMux's plain text.
type jsonMux struct{ mux *http.ServeMux }

func (j jsonMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := j.mux.Handler(r)
	if pattern != "" {
		j.mux.ServeHTTP(w, r)
		return
	}
	h.ServeHTTP(&jsonErrorWriter{ResponseWriter: w, r: r}, r)
}

// jsonErrorWriter replaces an error body written by ServeMux with an api.Error.
type jsonErrorWriter struct {
	http.ResponseWriter
	r       *http.Request
	written bool
}

func (e *jsonErrorWriter) WriteHeader(code int) {
	if e.written {
		return
	}
	e.written = true
	if code < 400 {
		e.ResponseWriter.WriteHeader(code)
		return
	}
	msg := fmt.Sprintf("no route for %s %s", e.r.Method, e.r.URL.Path)
	if code == http.StatusMethodNotAllowed {
		msg = fmt.Sprintf("method %s not allowed on %s (allowed: %s)", e.r.Method, e.r.URL.Path, e.Header().Get("Allow"))
	}
	writeErrorStatus(e.ResponseWriter, code, msg)
	e.ResponseWriter = discardBody{e.ResponseWriter}
}

func (e *jsonErrorWriter) Write(b []byte) (int, error) {
	if !e.written {
		e.WriteHeader(http.StatusOK)
	}
	return e.ResponseWriter.Write(b)
}

type discardBody struct{ http.ResponseWriter }

func (d discardBody) Write(b []byte) (int, error) { return len(b), nil }

// limitBody rejects bodies over MaxBodyBytes (413), except POST /add which has its own limit
// and POST /pins/batch which takes any length (it bounds each line). Those two stream their
// body; any other body is read whole before the route's handler runs, so that a request whose
// body does not arrive within read_timeout is answered 408 and changes nothing. Handled first,
// a pin was committed and then answered only when net/http's drain of the unread body (it
// drains before answering) gave up at read_timeout: a 200 after 30 s.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/add" || isStreamedBody(r) {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeErrorStatus(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes is over the limit of %d (api.restapi.max_body_bytes)", r.ContentLength, s.cfg.MaxBodyBytes))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
			if err != nil {
				status, msg := bodyReadStatus(err), err.Error()
				switch status {
				case http.StatusRequestEntityTooLarge:
					msg = fmt.Sprintf("request body over the limit of %d bytes (api.restapi.max_body_bytes)", s.cfg.MaxBodyBytes)
				case http.StatusBadRequest:
					msg = "reading the request body: " + msg
				}
				writeErrorStatus(w, status, msg)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		next.ServeHTTP(w, r)
	})
}

// cors answers preflights and sets Access-Control-Allow-Origin for allowed origins.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.cfg.CORSAllowedOrigins) == 0 {
		return next
	}
	any := slices.Contains(s.cfg.CORSAllowedOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !(any || slices.Contains(s.cfg.CORSAllowedOrigins, origin)) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Expose-Headers", "Content-Type, X-Stream-Error, X-Stream-Error-Code, X-Chunked-Output")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests logs each request at debug level with its status and duration.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", strings.Clone(r.URL.RawQuery),
			"status", sw.status, "bytes", sw.bytes, "remote", r.RemoteAddr, "duration", time.Since(start))
	})
}

// statusWriter records the status and size of a response. Unwrap lets http.ResponseController
// reach the real writer (Flush, EnableFullDuplex).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
