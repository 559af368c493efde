package pinsvc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/httpbody"
)

// A request's body is read whole (at most maxBodyBytes) once its credentials have passed and
// before its handler runs. A handler that reads no body (DELETE) would otherwise act and then
// answer only when net/http, which drains an unread body before answering, gave up at
// read_timeout: a request declaring a body it never sent removed the pin request, then got its
// 202 after 30 s. Now such a request is a 408 and changes nothing. The body's deadline and the
// closing of the connection after an answer given before the body was read (no such route, a
// wrong method, 401, 403, 413) are internal/httpbody's, as in the REST API.

// guardBody bounds the time a body takes to arrive to read_timeout (internal/httpbody).
func (s *Server) guardBody(next http.Handler) http.Handler {
	return httpbody.Guard{Timeout: s.cfg.ReadTimeout.D(), Key: configKey + ".read_timeout"}.Wrap(next)
}

// readBody replaces r's body with its content, read whole. Errors: api.ErrTooLarge over
// maxBodyBytes, *httpbody.TimeoutError past read_timeout, api.ErrInvalid for a body that breaks
// off.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if r.ContentLength > maxBodyBytes {
		return fmt.Errorf("%w: the body is %d bytes, over the limit of %d", api.ErrTooLarge, r.ContentLength, maxBodyBytes)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var te *httpbody.TimeoutError
	switch {
	case err == nil:
		r.Body = io.NopCloser(bytes.NewReader(b))
		return nil
	case errors.As(err, &te):
		return err
	case httpbody.LimitStatus(err) == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%w: the body is over the limit of %d bytes", api.ErrTooLarge, maxBodyBytes)
	}
	return fmt.Errorf("%w: reading the body: %v", api.ErrInvalid, err)
}
