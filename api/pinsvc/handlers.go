package pinsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/rest"
	"github.com/pincluster/pincluster/internal/httpbody"
)

// maxBodyBytes bounds a POSTed Pin.
const maxBodyBytes = 64 << 10

// errStop ends an index walk early.
var errStop = errors.New("stop")

// errRequestLimit: the CID's pin cannot hold one more request (its metadata is full). A 409,
// the spec's code for a request the service cannot take for the account's sake: the request is
// well formed (a 400 would say to fix it), the pin has no room for it.
var errRequestLimit = errors.New("the pin's metadata is full")

// Failure is the spec's error body.
type Failure struct {
	Error FailureError `json:"error"`
}

// FailureError is Failure's content.
type FailureError struct {
	Reason  string `json:"reason"`
	Details string `json:"details,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeFailure(w http.ResponseWriter, status int, reason, details string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pincluster pinning service API"`)
	}
	writeJSON(w, status, Failure{Error: FailureError{Reason: reason, Details: details}})
}

// writeError answers err with the spec's status code and reason.
func writeError(w http.ResponseWriter, err error) {
	var bte *httpbody.TimeoutError
	switch {
	case errors.Is(err, errRequestLimit):
		writeFailure(w, http.StatusConflict, "REQUEST_LIMIT", err.Error())
		return
	case errors.As(err, &bte):
		writeFailure(w, http.StatusRequestTimeout, "REQUEST_TIMEOUT", err.Error())
		return
	case errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("%w: %v", api.ErrTimeout, err)
	}
	status := api.HTTPStatus(err)
	reason := map[int]string{
		http.StatusBadRequest:            "BAD_REQUEST",
		http.StatusUnauthorized:          "UNAUTHORIZED",
		http.StatusForbidden:             "FORBIDDEN",
		http.StatusNotFound:              "NOT_FOUND",
		http.StatusRequestEntityTooLarge: "REQUEST_TOO_LARGE",
		http.StatusServiceUnavailable:    "SERVICE_UNAVAILABLE",
		http.StatusGatewayTimeout:        "TIMEOUT",
		http.StatusInsufficientStorage:   "INSUFFICIENT_STORAGE",
	}[status]
	if reason == "" {
		if status < 500 {
			reason = "BAD_REQUEST"
		} else {
			reason = "INTERNAL_SERVER_ERROR"
		}
	}
	writeFailure(w, status, reason, err.Error())
}

// route serves /pins and /pins/{requestid} after the auth check (GET needs the read
// permission, POST and DELETE pin), the body read whole in between (body.go). guardBody
// wraps it.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	tail, isPins := strings.CutPrefix(r.URL.Path, "/pins")
	id := strings.TrimPrefix(tail, "/")
	if !isPins || (tail != "" && tail[0] != '/') || strings.Contains(id, "/") {
		writeFailure(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no such endpoint %s: the IPFS Pinning Service API serves /pins and /pins/{requestid}", r.URL.Path))
		return
	}
	var h func(http.ResponseWriter, *http.Request, string)
	allow := "GET, POST"
	if id == "" {
		switch r.Method {
		case http.MethodGet:
			h = s.listPins
		case http.MethodPost:
			h = s.addPin
		}
	} else {
		allow = "GET, POST, DELETE"
		switch r.Method {
		case http.MethodGet:
			h = s.getPin
		case http.MethodPost:
			h = s.replacePin
		case http.MethodDelete:
			h = s.deletePin
		}
	}
	if h == nil {
		w.Header().Set("Allow", allow)
		writeFailure(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("%s %s: allowed are %s", r.Method, r.URL.Path, allow))
		return
	}
	perm := rest.PermPin
	if r.Method == http.MethodGet {
		perm = rest.PermRead
	}
	if s.d.Auth != nil {
		if status, msg := s.d.Auth.CheckAuth(r, perm); status != 0 {
			reason := "UNAUTHORIZED"
			if status == http.StatusForbidden {
				reason = "FORBIDDEN"
			}
			writeFailure(w, status, reason, msg)
			return
		}
	}
	if err := s.readBody(w, r); err != nil {
		writeError(w, err)
		return
	}
	h(w, r, id)
}

func pinOf(c api.Cid, e entry) Pin {
	return Pin{Cid: c.String(), Name: e.Name, Origins: e.Origins, Meta: e.Meta}
}

// status asks the cluster where c stands; an error answers queued, with the error in info.
func (s *Server) status(ctx context.Context, c api.Cid) (string, []string, map[string]string) {
	g, err := s.d.Status.Status(ctx, c, false)
	if err != nil {
		return StatusQueued, []string{}, map[string]string{"status_details": "cluster status unavailable: " + err.Error()}
	}
	var addrs map[string][]string
	if needsAddrs(g) {
		addrs = s.peerAddrs(ctx)
	}
	return clusterStatus(g, func(k string) []string { return addrs[k] })
}

// readPin reads and checks a POSTed Pin.
func readPin(r *http.Request) (Pin, api.Cid, error) {
	var p Pin
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return p, api.CidUndef, fmt.Errorf("%w: reading the body: %v", api.ErrInvalid, err)
	}
	if len(body) > maxBodyBytes {
		return p, api.CidUndef, fmt.Errorf("%w: the body is over %d bytes", api.ErrTooLarge, maxBodyBytes)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, api.CidUndef, fmt.Errorf("%w: the body must be a Pin object, {\"cid\": ..., \"name\": ..., \"origins\": [...], \"meta\": {...}}: %v", api.ErrInvalid, err)
	}
	c, err := p.check()
	return p, c, err
}

// addPin: POST /pins.
func (s *Server) addPin(w http.ResponseWriter, r *http.Request, _ string) {
	p, c, err := readPin(r)
	if err != nil {
		writeError(w, err)
		return
	}
	e := entry{Name: p.Name, Meta: p.Meta, Origins: p.Origins, Created: s.clock.next()}
	id := newRequestID()
	s.writeMu.Lock()
	err = s.addRequest(r.Context(), c, id, e, "")
	s.writeMu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	s.answer(w, r.Context(), http.StatusAccepted, id, c, e)
}

func (s *Server) answer(w http.ResponseWriter, ctx context.Context, code int, id string, c api.Cid, e entry) {
	st, delegates, info := s.status(ctx, c)
	writeJSON(w, code, PinStatus{RequestID: id, Status: st, Created: e.Created, Pin: pinOf(c, e), Delegates: delegates, Info: info})
}

// addRequest commits request id on c; when replacing (old != "") a request of the same CID,
// the old one goes in the same commit. Callers hold writeMu.
func (s *Server) addRequest(ctx context.Context, c api.Cid, id string, e entry, old string) error {
	cur, err := s.d.Pins.PinGet(ctx, c)
	found := err == nil
	if err != nil && !errors.Is(err, api.ErrNotFound) {
		return err
	}
	opts := withRequest(cur, found, id, e)
	if found && cur.Expired(time.Now()) {
		// An expired pin is one the healer's next sync removes, with its requests: a new
		// request pins the CID anew, as on a CID without a pin (the service's own: the marker
		// unpins it with its last request). Accepted as it was, it was dropped at that sync
		// (review).
		opts.ExpireAt = time.Time{}
		opts.Metadata[markerKey] = "1"
	}
	if old != "" {
		oldEntry, _ := entryOf(opts.Metadata, old)
		delete(opts.Metadata, requestKeyPrefix+old)
		if opts.Metadata[markerKey] == "1" && opts.Name == oldEntry.Name {
			opts.Name = e.Name // the service's own pin follows its request's name
		}
	}
	if next := useOf(opts.Metadata); next.full() {
		return errMetadataFull(c, useOf(cur.Metadata), next)
	}
	if err := opts.ValidateLimits(); err != nil {
		return err
	}
	_, err = s.d.Pins.PinRequests(ctx, c, opts)
	return err
}

// removeRequest removes request id from the pins holding it, unpinning a pin the service
// created once its last request is gone. Callers hold writeMu.
func (s *Server) removeRequest(ctx context.Context, refs []RequestRef, id string) error {
	for _, ref := range refs {
		cur, err := s.d.Pins.PinGet(ctx, ref.Cid)
		if errors.Is(err, api.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if _, ok := cur.Metadata[requestKeyPrefix+id]; !ok {
			continue
		}
		opts, unpin := withoutRequest(cur, id)
		if unpin {
			_, err = s.d.Pins.Unpin(ctx, ref.Cid)
			if errors.Is(err, api.ErrNotFound) {
				err = nil
			}
		} else {
			_, err = s.d.Pins.PinRequests(ctx, ref.Cid, opts)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// find returns the pins holding request id, with its entry in the first; api.ErrNotFound
// when no pin does.
func (s *Server) find(ctx context.Context, id string) ([]RequestRef, entry, error) {
	notFound := fmt.Errorf("%w: no pin request %q (it was removed, or never existed)", api.ErrNotFound, id)
	if !validRequestID(id) {
		return nil, entry{}, notFound
	}
	refs, err := s.d.Index.Request(ctx, id)
	if err != nil {
		return nil, entry{}, err
	}
	for _, ref := range refs {
		f, err := api.PinFieldsOf(ref.PinJSON)
		if err != nil {
			continue
		}
		if e, ok := entryOf(f.Metadata, id); ok {
			return refs, e, nil
		}
	}
	return nil, entry{}, notFound
}

// getPin: GET /pins/{requestid}.
func (s *Server) getPin(w http.ResponseWriter, r *http.Request, id string) {
	refs, e, err := s.find(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	s.answer(w, r.Context(), http.StatusOK, id, refs[0].Cid, e)
}

// deletePin: DELETE /pins/{requestid}.
func (s *Server) deletePin(w http.ResponseWriter, r *http.Request, id string) {
	refs, _, err := s.find(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	s.writeMu.Lock()
	err = s.removeRequest(r.Context(), refs, id)
	s.writeMu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// replacePin: POST /pins/{requestid}: a new request replaces the old one, under a new id and
// creation time. For the same CID, one commit; for another CID, the new request is committed
// first, so that blocks both share stay pinned.
func (s *Server) replacePin(w http.ResponseWriter, r *http.Request, id string) {
	refs, _, err := s.find(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	p, c, err := readPin(r)
	if err != nil {
		writeError(w, err)
		return
	}
	e := entry{Name: p.Name, Meta: p.Meta, Origins: p.Origins, Created: s.clock.next()}
	newID := newRequestID()
	s.writeMu.Lock()
	var others []RequestRef
	same := false
	for _, ref := range refs {
		if ref.Cid.Equals(c.Cid) {
			same = true
		} else {
			others = append(others, ref)
		}
	}
	if same {
		err = s.addRequest(r.Context(), c, newID, e, id)
	} else {
		err = s.addRequest(r.Context(), c, newID, e, "")
	}
	if err == nil {
		err = s.removeRequest(r.Context(), others, id)
	}
	s.writeMu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	s.answer(w, r.Context(), http.StatusAccepted, newID, c, e)
}
