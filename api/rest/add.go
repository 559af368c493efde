package rest

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pincluster/pincluster/api"
)

// add serves POST /add: a multipart body of files and directories (as IPFS Cluster's and
// Kubo's clients send them), or with ?format=car a CAR either as the raw body or as the first
// file of a multipart body. It streams one api.AddedOutput per line.
func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	params, err := api.AddParamsFromQuery(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, err)
		return
	}
	if r.ContentLength > s.cfg.MaxAddBytes {
		writeError(w, s.tooLarge(r.ContentLength))
		return
	}
	if r.ContentLength == 0 {
		writeError(w, fmt.Errorf("%w: nothing to add: the request body is empty", api.ErrInvalid))
		return
	}
	body := &limitedBody{r: http.MaxBytesReader(w, r.Body, s.cfg.MaxAddBytes)}
	// Progress lines go out while the body is still being read.
	_ = http.NewResponseController(w).EnableFullDuplex()

	var mr *multipart.Reader
	var car io.Reader
	mediaType, mparams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isMultipart := strings.HasPrefix(mediaType, "multipart/") && mparams["boundary"] != ""
	switch {
	case isMultipart && params.Format == "car":
		part, err := firstFilePart(multipart.NewReader(body, mparams["boundary"]))
		if err != nil {
			writeError(w, s.addError(body, err))
			return
		}
		car = part
	case isMultipart:
		mr = multipart.NewReader(body, mparams["boundary"])
	case params.Format == "car":
		car = body
	default:
		writeError(w, fmt.Errorf("%w: POST /add needs a multipart/form-data body (or ?format=car with a CAR body), got Content-Type %q", api.ErrInvalid, r.Header.Get("Content-Type")))
		return
	}

	ao := &addOutput{st: newStreamer(w), progress: params.Progress}
	root, err := s.svc.Add.Add(r.Context(), mr, car, params, ao.out)
	var afterPin *api.AfterPinError
	if err == nil || errors.As(err, &afterPin) {
		// The multipart reader stops at the closing boundary: read the end of the body too, so
		// the answer can keep the connection (closeUnreadWriter closes it otherwise). Straight
		// from r.Body: a failure here is not the add's.
		_, _ = io.CopyN(io.Discard, r.Body, addTailBytes)
	}
	if err != nil {
		ao.finish(s.addError(body, err))
		return
	}
	ao.rootIfNothing(root)
	ao.finish(nil)
}

// addTailBytes bounds what is read of an add's body after the add ended: the multipart
// epilogue and the end of a chunked body, normally a few bytes.
const addTailBytes = 64 << 10

// addError maps an add failure: a body over the limit is 413, one that stalled past
// read_timeout 408, a body that could not be read 400. (A bad CAR is already 400: api.ErrBadCAR
// wraps api.ErrInvalid.)
func (s *Server) addError(body *limitedBody, err error) error {
	var mbe *http.MaxBytesError
	readErr := body.readErr()
	switch {
	case body.overLimit() || errors.As(err, &mbe):
		return s.tooLarge(-1)
	case readErr != nil && bodyReadStatus(readErr) == http.StatusRequestTimeout:
		return readErr
	case readErr != nil && statusOf(err) >= 500:
		// Whatever the backend made of it, the input broke off (a truncated body).
		return fmt.Errorf("%w: reading the request body: %v", api.ErrInvalid, readErr)
	}
	return err
}

func (s *Server) tooLarge(n int64) error {
	if n >= 0 {
		return fmt.Errorf("%w: add body of %d bytes is over the limit of %d (raise api.restapi.max_add_bytes)", api.ErrTooLarge, n, s.cfg.MaxAddBytes)
	}
	return fmt.Errorf("%w: add body is over the limit of %d bytes (raise api.restapi.max_add_bytes)", api.ErrTooLarge, s.cfg.MaxAddBytes)
}

// firstFilePart returns the first part of mr that is not a directory.
func firstFilePart(mr *multipart.Reader) (*multipart.Part, error) {
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: nothing to add: the multipart body has no file part", api.ErrInvalid)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: bad multipart body: %v", api.ErrInvalid, err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if ct == "application/x-directory" {
			continue
		}
		return part, nil
	}
}

// limitedBody remembers whether reading hit the body limit and the first read error, however
// the reader's consumer wrapped the errors.
type limitedBody struct {
	r    io.ReadCloser
	mu   sync.Mutex
	over bool
	err  error
}

func (l *limitedBody) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF {
		l.mu.Lock()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			l.over = true
		}
		if l.err == nil {
			l.err = err
		}
		l.mu.Unlock()
	}
	return n, err
}

func (l *limitedBody) overLimit() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.over
}

func (l *limitedBody) readErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
