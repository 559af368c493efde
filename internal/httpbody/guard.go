// Package httpbody protects the daemon's HTTP servers (the REST API, the Pinning Service API)
// from request bodies that arrive slowly or not at all.
//
// Decisions:
//   - The read deadline is set per request, only on requests that have a body, and not through
//     http.Server.ReadTimeout: that one cannot tell routes apart (a streamed upload must be
//     bounded per stall, not whole), and a deadline on a request without a body would cut the
//     connection's background read and cancel a long handler's context.
//   - An error answered before the body was read to its end (401, 403, 404, a bad parameter)
//     closes the connection: otherwise net/http drains up to 256 KiB of body before sending
//     the answer, which a client trickling bytes can make last for ever.
//   - Any answer on a streamed body closes the connection too, unless the body was read to
//     its end: net/http drains it only after the handler, under a stall deadline that may have
//     expired meanwhile (an add waiting for a replica), ignores that drain's failure and keeps
//     the connection; it then parses the unread end of the body as the next request and writes
//     a stray "400 Bad Request".
//
// The guard runs before authentication, and nothing before it reads a body, so a request
// without credentials gets its 401 at once, whatever its body.
package httpbody

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// Guard bounds how long request bodies take to arrive.
type Guard struct {
	// Timeout bounds the time to receive a whole body, or each stall of a streamed one; 0 sets
	// no deadline (the connection is still closed after an early error).
	Timeout time.Duration
	// Key is the config key of Timeout, named in the 408's message ("restapi.read_timeout").
	Key string
	// Streamed tells the requests whose bodies may be of any length and arrive for as long
	// as they keep coming (bounded per stall); nil: none.
	Streamed func(*http.Request) bool
}

// Wrap returns next behind the guard.
func (g Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		b := &body{rc: http.NewResponseController(w), r: r.Body, timeout: g.Timeout, key: g.Key,
			stall: g.Streamed != nil && g.Streamed(r)}
		if b.timeout > 0 && !b.stall {
			// Not supported by httptest's recorder; a real connection always is.
			_ = b.rc.SetReadDeadline(time.Now().Add(b.timeout))
		}
		r.Body = b
		next.ServeHTTP(&closeUnreadWriter{ResponseWriter: w, body: b}, r)
	})
}

// TimeoutError is a body that did not arrive within the guard's Timeout (408).
type TimeoutError struct {
	Timeout time.Duration
	Key     string
	Stall   bool // a streamed body that stalled
}

func (e *TimeoutError) Error() string {
	if e.Stall {
		return fmt.Sprintf("the request body stalled for longer than %s (%s)", e.Timeout, e.Key)
	}
	return fmt.Sprintf("the request body did not arrive within %s (%s)", e.Timeout, e.Key)
}

// Status is the HTTP status for a failure to read a request body: 413 over its limit
// (http.MaxBytesReader), 408 past the guard's timeout, else 400 (the client sent a broken body
// or went away).
func Status(err error) int {
	if s := LimitStatus(err); s != 0 {
		return s
	}
	return http.StatusBadRequest
}

// LimitStatus is 413 or 408 when err is a body over its limit or past the guard's timeout, or
// 0: for callers that map other errors their own way.
func LimitStatus(err error) int {
	var mbe *http.MaxBytesError
	var te *TimeoutError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &te):
		return http.StatusRequestTimeout
	}
	return 0
}

// body applies the read deadline and records whether the body was read to its end.
type body struct {
	rc      *http.ResponseController
	r       io.ReadCloser
	timeout time.Duration
	key     string
	stall   bool

	mu      sync.Mutex
	eof     bool
	renewed time.Time // when the stall deadline was last pushed back
}

func (b *body) Read(p []byte) (int, error) {
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
		err = &TimeoutError{Timeout: b.timeout, Key: b.key, Stall: b.stall}
	}
	return n, err
}

// renew pushes the stall deadline back, at most every eighth of the timeout: a deadline is a
// timer update, cheap but not free, and reads come every few kilobytes.
func (b *body) renew() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.eof || now.Sub(b.renewed) < b.timeout/8 {
		return
	}
	b.renewed = now
	_ = b.rc.SetReadDeadline(now.Add(b.timeout))
}

func (b *body) Close() error { return b.r.Close() }

func (b *body) done() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof
}

// closeUnreadWriter closes the connection after an answer that starts before the body was read
// to its end (see the package doc): "Connection: close" stops net/http from draining the body
// before the answer, and for an error a read deadline in the past stops the drain it does after
// the answer.
type closeUnreadWriter struct {
	http.ResponseWriter
	body    *body
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
