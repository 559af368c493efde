package rest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// guardBody protects the server from request bodies that arrive slowly or not at all:
//   - read_timeout bounds the time to receive a body (every route but POST /add and POST
//     /pins/batch) or, on those two, each stall of it. http.Server's own ReadTimeout cannot tell the routes apart, and
//     a deadline set on a request without a body would cut the connection's background read
//     and cancel a long handler's context, so the deadline is set here, only on requests that
//     have a body.
//   - an error answered before the body was read (401, 403, a bad parameter) closes the
//     connection: otherwise net/http drains up to 256 KiB of body before sending the answer,
//     which a client trickling bytes can make last for ever.
//
// It runs before authentication, and nothing before it reads a body, so a request without
// credentials gets its 401 at once, whatever its body.
func (s *Server) guardBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		gb := &guardedBody{rc: http.NewResponseController(w), r: r.Body, timeout: s.cfg.ReadTimeout,
			stall: isStreamedBody(r)}
		if gb.timeout > 0 && !gb.stall {
			// Not supported by httptest's recorder; a real connection always is.
			_ = gb.rc.SetReadDeadline(time.Now().Add(gb.timeout))
		}
		r.Body = gb
		next.ServeHTTP(&closeUnreadWriter{ResponseWriter: w, body: gb}, r)
	})
}

// bodyTimeoutError is a body that did not arrive within read_timeout (408).
type bodyTimeoutError struct {
	timeout time.Duration
	stall   bool
}

func (e *bodyTimeoutError) Error() string {
	if e.stall {
		return fmt.Sprintf("the request body stalled for longer than %s (%s.read_timeout)", e.timeout, configKey)
	}
	return fmt.Sprintf("the request body did not arrive within %s (%s.read_timeout)", e.timeout, configKey)
}

// guardedBody applies the read deadline and records whether the body was read to its end.
type guardedBody struct {
	rc      *http.ResponseController
	r       io.ReadCloser
	timeout time.Duration
	stall   bool

	mu      sync.Mutex
	eof     bool
	renewed time.Time // when the stall deadline was last pushed back
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.stall && b.timeout > 0 {
		b.renew()
	}
	n, err := b.r.Read(p)
	switch {
	case err == io.EOF:
		// net/http clears the deadline itself once the body ends (its background read
		// starts), so nothing is set after this.
		b.mu.Lock()
		b.eof = true
		b.mu.Unlock()
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		err = &bodyTimeoutError{timeout: b.timeout, stall: b.stall}
	}
	return n, err
}

// renew pushes the stall deadline back, at most every eighth of the timeout: a deadline is a
// timer update, cheap but not free, and reads come every few kilobytes.
func (b *guardedBody) renew() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.eof || now.Sub(b.renewed) < b.timeout/8 {
		return
	}
	b.renewed = now
	_ = b.rc.SetReadDeadline(now.Add(b.timeout))
}

func (b *guardedBody) Close() error { return b.r.Close() }

func (b *guardedBody) done() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof
}

// closeUnreadWriter closes the connection after an answer that starts before the body was read
// to its end:
//   - an error answer reads no more of the body: "Connection: close" stops net/http from
//     draining it before the answer, and a read deadline in the past stops the drain it does
//     after the answer (up to 256 KiB, which a trickling client can stretch for hours);
//   - any answer on a streamed body (full duplex), because net/http drains it only after the
//     handler, under a stall deadline that may have expired meanwhile (an add waiting for a
//     replica), ignores that drain's failure and keeps the connection: it then parses the
//     unread end of the body as the next request and writes a stray "400 Bad Request".
type closeUnreadWriter struct {
	http.ResponseWriter
	body    *guardedBody
	written bool
}

func (c *closeUnreadWriter) WriteHeader(code int) {
	if !c.written {
		c.written = true
		if (code >= 400 || c.body.stall) && !c.body.done() {
			c.Header().Set("Connection", "close")
		}
		if code >= 400 && !c.body.done() {
			_ = c.body.rc.SetReadDeadline(time.Unix(1, 0))
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *closeUnreadWriter) Write(b []byte) (int, error) {
	if !c.written {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines, Flush, full duplex).
func (c *closeUnreadWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// bodyReadStatus is the status for a failure to read a request body: 413 over its limit, 408
// past read_timeout, else 400 (the client sent a broken body or went away).
func bodyReadStatus(err error) int {
	var mbe *http.MaxBytesError
	var bte *bodyTimeoutError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &bte):
		return http.StatusRequestTimeout
	}
	return http.StatusBadRequest
}
