package ipfsproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/pincluster/pincluster/api"
)

// kuboError is Kubo's error body (go-ipfs-cmds' cmds.Error): Code 0 is a normal error, 1 the
// client's fault.
type kuboError struct {
	Message string
	Code    int
	Type    string
}

const (
	codeNormal = 0
	codeClient = 1
)

// badArg is a client error (400): a bad argument, option or body.
func badArg(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{api.ErrInvalid}, a...)...)
}

// statusOf maps an error to the status and Kubo code the proxy answers with. Kubo answers
// what it cannot find (not pinned, no such block) with a 500; a 404 means "command not found"
// to its client, so api.ErrNotFound is a 500 here too.
func statusOf(err error) (int, int) {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrNotImplemented):
		return http.StatusNotImplemented, codeNormal
	case errors.Is(err, api.ErrInvalid):
		return http.StatusBadRequest, codeClient
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, codeClient
	case errors.Is(err, api.ErrNotFound):
		return http.StatusInternalServerError, codeNormal
	}
	return api.HTTPStatus(err), codeNormal
}

// writeError answers err in Kubo's shape.
func writeError(w http.ResponseWriter, err error) {
	status, code := statusOf(err)
	writeErrorStatus(w, status, code, err.Error())
}

func writeErrorStatus(w http.ResponseWriter, status, code int, msg string) {
	b, _ := json.Marshal(kuboError{Message: msg, Code: code, Type: "error"})
	h := w.Header()
	h.Del("Content-Length")
	h.Del("Trailer")
	h.Del("X-Chunked-Output")
	h.Del("X-Stream-Output")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeJSON answers 200 with v as one JSON value (Kubo's EmitOnce).
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, fmt.Errorf("encoding the response: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Trailer", "X-Stream-Error")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}
