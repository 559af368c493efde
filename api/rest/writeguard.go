package rest

import (
	"io"
	"net/http"
)

// WriteGuard refuses a write before its handler runs (a follower peer's guard,
// cluster.Config.Refuse); op names the write ("add", "ingest pins"). Nil: no guard.
type WriteGuard func(op string) error

// guardedBody wraps the handlers of the writes that stream a request body (add, batch
// ingest). The services refuse a follower's writes themselves, but these handlers answer
// while the body is still arriving (full duplex), so an early refusal reached a client
// still sending as a broken pipe instead of the refusal. Here the refusal comes first: the
// body is read and discarded (up to limit, the route's own bound, so the client can finish
// sending and read the answer), then the error is written and the connection closed.
func (s *Server) guardedBody(op string, limit int64, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.svc.Guard == nil {
			h(w, r)
			return
		}
		if err := s.svc.Guard(op); err != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, limit))
			w.Header().Set("Connection", "close")
			writeError(w, err)
			return
		}
		h(w, r)
	}
}
