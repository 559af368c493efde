package api

import (
	"context"
	"errors"
	"net/http"
)

// Sentinel error kinds. Components wrap them with %w and a message saying what to change;
// the REST server maps them to HTTP codes with HTTPStatus.
var (
	// ErrInvalid: the request is malformed or an option is out of range (400).
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound: the CID or peer is not in the pinset / cluster (404).
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the peer cannot take the request now, e.g. a full queue (503).
	ErrUnavailable = errors.New("unavailable")
	// ErrTooLarge: the request body exceeds its limit (413).
	ErrTooLarge = errors.New("request too large")
	// ErrUnauthorized: missing or bad credentials (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the caller is known but not allowed to do this (403), e.g. a peer that is
	// not in trusted_peers asking for a write.
	ErrForbidden = errors.New("forbidden")
	// ErrTimeout: the operation did not complete in time (504).
	ErrTimeout = errors.New("timed out")
	// ErrInsufficientStorage: the peer cannot store the change, e.g. its disk is full (507).
	ErrInsufficientStorage = errors.New("insufficient storage")
	// ErrQueueFull: a bounded queue refuses more work (the tracker's pin queue, the batcher's
	// broadcast queue). Refusals wrap it together with ErrUnavailable (503: try again later),
	// with a message naming the queue and the config key that bounds it. It is the one "queue
	// is full" error: tracker.ErrQueueFull and batcher.ErrQueueFull are this error.
	ErrQueueFull = errors.New("queue is full")
	// ErrBadCAR: an add body in CAR format (format=car) is malformed, truncated, cannot be
	// read, does not have exactly one root or does not contain its root block. It wraps
	// ErrInvalid (400): a bad CAR is the caller's mistake whichever IPFS backend finds it.
	// ipfs.ErrBadCAR is this error.
	ErrBadCAR error = badCAR{}
	// ErrNotIndexed: the pinset store has no name and metadata indexes yet (a store of an
	// earlier version). Lookups by name or metadata scan instead until `state upgrade` builds
	// them. persistence.ErrNotIndexed is this error.
	ErrNotIndexed = errors.New("the pinset has no name and metadata indexes yet (a store of an earlier version): run `pincluster state upgrade`")
)

// AfterPinError marks an error that happened after the content was added and pinned (waiting
// for a replica, say): the added lines are still true and are shown, with the error after them.
type AfterPinError struct{ Err error }

func (e *AfterPinError) Error() string { return e.Err.Error() }
func (e *AfterPinError) Unwrap() error { return e.Err }

// badCAR is ErrBadCAR's type, so that it reads "bad CAR" and still is an ErrInvalid.
type badCAR struct{}

func (badCAR) Error() string { return "bad CAR" }
func (badCAR) Unwrap() error { return ErrInvalid }

// Error is the JSON body of every API error: {"code": N, "message": "..."}.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e Error) Error() string { return e.Message }

// HTTPStatus maps an error to the HTTP status the REST API answers with.
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, ErrInsufficientStorage):
		return http.StatusInsufficientStorage
	default:
		return http.StatusInternalServerError
	}
}
