package rest

import (
	"net/http"

	"github.com/pincluster/pincluster/internal/httpbody"
)

// guardBody bounds request bodies (internal/httpbody): read_timeout bounds the time to receive
// a body (every route but POST /add and POST /pins/batch) or, on those two, each stall of it;
// an error answered before the body was read closes the connection.
func (s *Server) guardBody(next http.Handler) http.Handler {
	return httpbody.Guard{Timeout: s.cfg.ReadTimeout, Key: configKey + ".read_timeout", Streamed: isStreamedBody}.Wrap(next)
}

// bodyReadStatus is the status for a failure to read a request body: 413 over its limit, 408
// past read_timeout, else 400 (the client sent a broken body or went away).
func bodyReadStatus(err error) int { return httpbody.Status(err) }
