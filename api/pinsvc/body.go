package pinsvc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/pincluster/pincluster/api"
)

// A request's body is read whole (at most maxBodyBytes) once its credentials have passed and
// before its handler runs, as the REST API does (api/rest limitBody). A handler that reads no
// body (DELETE) would otherwise act and then answer only when net/http, which drains an unread
// body before answering, gave up at read_timeout: a request declaring a body it never sent
// removed the pin request, then got its 202 after 30 s. Now such a request is a 408 and
// changes nothing. Answers given before the body is read (no such route, a wrong method, 401,
// 403, 413) close the connection instead of draining it, so they go out at once.

// errBodyTimeout: the body did not arrive within read_timeout (408).
type errBodyTimeout struct{ timeout time.Duration }

func (e errBodyTimeout) Error() string {
	return fmt.Sprintf("the request body did not arrive within %s (%s.read_timeout)", e.timeout, configKey)
}

// readBody replaces r's body with its content, read whole. Errors: api.ErrTooLarge over
// maxBodyBytes, errBodyTimeout past read_timeout, api.ErrInvalid for a body that breaks off.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if r.ContentLength > maxBodyBytes {
		return fmt.Errorf("%w: the body is %d bytes, over the limit of %d", api.ErrTooLarge, r.ContentLength, maxBodyBytes)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		r.Body = io.NopCloser(bytes.NewReader(b))
		return nil
	case errors.As(err, &mbe):
		return fmt.Errorf("%w: the body is over the limit of %d bytes", api.ErrTooLarge, maxBodyBytes)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// http.Server's ReadTimeout, the whole request's deadline, has passed.
		return errBodyTimeout{timeout: s.cfg.ReadTimeout.D()}
	}
	return fmt.Errorf("%w: reading the body: %v", api.ErrInvalid, err)
}

// unreadBodyWriter closes the connection after an error answered before the body was read:
// with "Connection: close" net/http does not drain the body first (up to read_timeout for a
// client that declared a body it does not send).
type unreadBodyWriter struct {
	http.ResponseWriter
	read, written bool
}

func (u *unreadBodyWriter) WriteHeader(code int) {
	if !u.written {
		u.written = true
		if code >= 400 && !u.read {
			u.Header().Set("Connection", "close")
		}
	}
	u.ResponseWriter.WriteHeader(code)
}

func (u *unreadBodyWriter) Write(b []byte) (int, error) {
	if !u.written {
		u.WriteHeader(http.StatusOK)
	}
	return u.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (u *unreadBodyWriter) Unwrap() http.ResponseWriter { return u.ResponseWriter }
