package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pincluster/pincluster/api"
)

// Ingester runs batch ingests (POST /pins/batch). It is the REST server's own small interface
// (the peer's ingest service satisfies it), Services.Ingest.
type Ingester interface {
	// Ingest reads body to its end, one CID or NDJSON pin per line, and pins (or unpins) each
	// line's CID; defaults are the options of lines that do not set their own. It calls emit
	// for each failed line and, after each group commit, with the lines now durable; the
	// returned event has the totals (Done). Errors end the run and wrap the api errors.
	Ingest(ctx context.Context, body io.Reader, op api.BatchOp, defaults api.PinOptions, emit func(api.BatchEvent) error) (api.BatchEvent, error)
}

// batchPath is the route of batch ingest; the body guard and the body limit treat it like
// POST /add (a body of any length, read while the answer streams).
const batchPath = "/pins/batch"

// isStreamedBody reports whether r's body may be of any length and arrive for as long as it
// keeps coming (POST /add, POST /pins/batch).
func isStreamedBody(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/add" || r.URL.Path == batchPath)
}

// pinsBatch is POST /pins/batch?op=pin|unpin&<pin options>: the body is read line by line
// while the answer streams one api.BatchEvent per failed line and per commit. Errors after the
// stream started go in the X-Stream-Error trailer.
func (s *Server) pinsBatch(w http.ResponseWriter, r *http.Request) {
	ing := s.svc.Ingest
	if ing == nil {
		writeError(w, fmt.Errorf("%w: this peer does not run batch ingest", api.ErrUnavailable))
		return
	}
	q := r.URL.Query()
	op, err := api.ParseBatchOp(q.Get("op"))
	if err != nil {
		writeError(w, err)
		return
	}
	opts, err := api.PinOptionsFromQuery(q, time.Now())
	if err != nil {
		writeError(w, err)
		return
	}
	// Read the body while the answer streams: by default net/http would drain the body before
	// the first byte of the answer goes out.
	if err := http.NewResponseController(w).EnableFullDuplex(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		writeError(w, err)
		return
	}
	st := newStreamer(w)
	last, err := ing.Ingest(r.Context(), r.Body, op, opts, func(ev api.BatchEvent) error {
		if err := st.item(ev); err != nil {
			return err
		}
		if ev.Through > 0 {
			st.flush()
		}
		return nil
	})
	_ = last
	st.finish(err)
}

// flush sends what is buffered now (an acknowledgement should not wait for the flusher).
func (s *streamer) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started && s.dirty && s.werr == nil {
		s.flushLocked()
	}
}
