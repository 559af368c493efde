package rest

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/httpbody"
)

// streamErrorTrailer carries an error that happened after a stream started, as plain text
// (IPFS Cluster's clients read it so). streamErrorCodeTrailer carries the HTTP status the error
// would have had before the stream started (a full queue: 503), for clients that tell errors
// apart by it (pincluster's CLI); older clients ignore it.
const (
	streamErrorTrailer     = "X-Stream-Error"
	streamErrorCodeTrailer = "X-Stream-Error-Code"
	streamTrailers         = streamErrorTrailer + ", " + streamErrorCodeTrailer
)

// setStreamError sets the trailers of err (declared by streamTrailers).
func setStreamError(h http.Header, err error) {
	h.Set(streamErrorTrailer, oneLine(err.Error()))
	h.Set(streamErrorCodeTrailer, strconv.Itoa(statusOf(err)))
}

var errStreamClosed = errors.New("stream already finished")

// streamBufSize is the write buffer of streamed responses.
const streamBufSize = 64 << 10

// statusBufSize is a status stream's (GET /pins): a socket write per 256 KiB. A global
// status of 1M pins x 100 members is 19 GB; at 100k x 100 over loopback a pass took
// 0.86-1.0 s against 0.98-1.3 s with 64 KiB, and a server writing to curl used a quarter less
// CPU (2026-12-05; no difference at 20k x 20). Other streams are mostly short.
const statusBufSize = 256 << 10

// flushInterval bounds how long a streamed line may sit in the buffer.
const flushInterval = 200 * time.Millisecond

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		writeError(w, fmt.Errorf("encoding the response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// marshal is json.Marshal, without reflection for pins (the reply to every POST /pins).
func marshal(v any) ([]byte, error) {
	switch p := v.(type) {
	case api.Pin:
		return api.MarshalPin(&p)
	case *api.Pin:
		if p != nil {
			return api.MarshalPin(p)
		}
	}
	return json.Marshal(v)
}

// writeError answers with the api.Error for err and the status api.HTTPStatus maps it to.
func writeError(w http.ResponseWriter, err error) {
	writeErrorStatus(w, statusOf(err), err.Error())
}

func writeErrorStatus(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(api.Error{Code: status, Message: msg})
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// statusOf is api.HTTPStatus, plus 413 for bodies over their limit and 408 for bodies that did
// not arrive within read_timeout.
func statusOf(err error) int {
	if s := httpbody.LimitStatus(err); s != 0 {
		return s
	}
	return api.HTTPStatus(err)
}

// streamer writes an NDJSON stream. The 200 header goes out with the first line, so an error
// before any line is still a JSON error status; after it, errors go in the X-Stream-Error
// trailer. Buffered lines go out at least every flushInterval: the first line written after a
// flush arms a timer (a scheduled flush, not a loop). Its methods are safe for concurrent use.
type streamer struct {
	w       http.ResponseWriter
	bufSize int    // of bw (0: streamBufSize)
	ctype   string // the Content-Type ("": application/json)
	text    bool   // items are text blocks (Accept: text/plain), not JSON lines
	rc      *http.ResponseController
	mu      sync.Mutex
	bw      *bufio.Writer
	started bool
	closed  bool // finish was called
	dirty   bool
	werr    error // first write error: the client went away
	timer   *time.Timer
	armed   bool // a flush is scheduled
}

func newStreamer(w http.ResponseWriter) *streamer {
	return &streamer{w: w, rc: http.NewResponseController(w)}
}

// newStatusStreamer is a streamer of status in the media type the request asks for
// (statusType): text blocks, or JSON lines.
func newStatusStreamer(w http.ResponseWriter, r *http.Request) *streamer {
	s := newStreamer(w)
	s.bufSize = statusBufSize
	w.Header().Set("Vary", "Accept") // the same URL answers in several types
	s.ctype = statusType(r)
	s.text = s.ctype == api.StatusTextType
	return s
}

func (s *streamer) contentType() string {
	if s.ctype == "" {
		return "application/json"
	}
	return s.ctype
}

func (s *streamer) start() {
	h := s.w.Header()
	h.Set("Content-Type", s.contentType())
	h.Set("Trailer", streamTrailers)
	h.Set("X-Chunked-Output", "1")
	s.w.WriteHeader(http.StatusOK)
	s.bw = bufio.NewWriterSize(s.w, cmp.Or(s.bufSize, streamBufSize))
	s.started = true
}

// scheduledFlush sends what was buffered since the timer was armed. After finish it does
// nothing: the handler may have returned.
func (s *streamer) scheduledFlush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = false
	if !s.closed && s.dirty && s.werr == nil {
		s.flushLocked()
	}
}

func (s *streamer) flushLocked() {
	if err := s.bw.Flush(); err != nil {
		s.werr = err
		return
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.werr = err
	}
	s.dirty = false
}

// raw writes one line made of b and a newline, as is.
func (s *streamer) raw(b []byte) error {
	return s.write(b, true)
}

// block writes b as is: a text block with its own newlines.
func (s *streamer) block(b []byte) error {
	return s.write(b, false)
}

// status writes g as a text block or a JSON line, as the stream was asked.
func (s *streamer) status(g api.GlobalPinInfo) error {
	if s.text {
		return s.block(api.AppendStatusText(nil, g))
	}
	return s.item(g)
}

func (s *streamer) write(b []byte, newline bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStreamClosed
	}
	if !s.started {
		s.start()
	}
	if s.werr != nil {
		return s.werr
	}
	_, err := s.bw.Write(b)
	if err == nil && newline {
		err = s.bw.WriteByte('\n')
	}
	if err != nil {
		s.werr = err
		return err
	}
	s.dirty = true
	if !s.armed {
		s.armed = true
		if s.timer == nil {
			s.timer = time.AfterFunc(flushInterval, s.scheduledFlush)
		} else {
			s.timer.Reset(flushInterval)
		}
	}
	return nil
}

// item writes v as one JSON line.
func (s *streamer) item(v any) error {
	b, err := marshal(v)
	if err != nil {
		return fmt.Errorf("encoding a stream item: %w", err)
	}
	return s.raw(b)
}

// finish ends the stream: with err nil it flushes what is left (an empty stream still gets
// its 200); with an error it answers a JSON error if nothing was sent yet, otherwise sets the
// X-Stream-Error trailer.
func (s *streamer) finish(err error) {
	s.mu.Lock()
	s.closed = true
	if !s.started {
		defer s.mu.Unlock()
		if err != nil {
			writeError(s.w, err)
			return
		}
		s.w.Header().Set("Content-Type", s.contentType())
		s.w.Header().Set("Trailer", streamTrailers)
		s.w.WriteHeader(http.StatusOK)
		return
	}
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop() // a flush already waiting for the lock sees closed
	}
	if s.werr == nil {
		s.bw.Flush()
	}
	if err != nil {
		setStreamError(s.w.Header(), err)
	}
}

// oneLine makes a message safe for a header value.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r < ' ' && r != '\t' {
			return ' '
		}
		return r
	}, s)
}
