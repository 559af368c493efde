package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/pincluster/pincluster/api"
)

// StreamErrorTrailer is the HTTP trailer that carries an error raised after a stream started;
// StreamErrorCodeTrailer, its HTTP status (absent from older daemons: 500 is assumed).
const (
	StreamErrorTrailer     = "X-Stream-Error"
	StreamErrorCodeTrailer = "X-Stream-Error-Code"
)

// stream sends req and calls fn for each JSON object of the response, which may be NDJSON (one
// object per line, or any whitespace-separated sequence) or a JSON array. It stops at fn's
// first error and returns it.
func stream[T any](ctx context.Context, c *Client, req request, fn func(T) error) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	err = decodeStream(resp.Body, fn)
	if err != nil {
		if ctx.Err() != nil {
			return wrapCtxErr(ctx, c.hostName())
		}
		return err
	}
	return trailerError(resp)
}

// fnError marks an error returned by the caller's fn, passed through unwrapped.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// decodeStream decodes NDJSON or a JSON array from r into fn.
func decodeStream[T any](r io.Reader, fn func(T) error) error {
	br := bufio.NewReader(r)
	first, err := peekNonSpace(br)
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading response stream: %w", err)
	}
	if first == '{' {
		var probe T
		if _, ok := any(&probe).(lineDecoder); ok {
			return decodeLines(br, fn)
		}
	}
	dec := json.NewDecoder(br)
	call := func() error {
		var v T
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("bad item in response stream: %w", err)
		}
		if err := fn(v); err != nil {
			return fnError{err}
		}
		return nil
	}
	var derr error
	if first == '[' {
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("bad response stream: %w", err)
		}
		for dec.More() {
			if derr = call(); derr != nil {
				break
			}
		}
		if derr == nil {
			if _, err := dec.Token(); err != nil {
				derr = fmt.Errorf("bad response stream (unterminated array): %w", err)
			}
		}
	} else {
		for dec.More() {
			if derr = call(); derr != nil {
				break
			}
		}
		if derr == nil {
			if tok, err := dec.Token(); err != io.EOF {
				if err == nil {
					err = fmt.Errorf("unexpected %v", tok)
				}
				derr = fmt.Errorf("bad response stream: %w", err)
			}
		}
	}
	var fe fnError
	if errors.As(derr, &fe) {
		return fe.err
	}
	return derr
}

// peekNonSpace skips whitespace and returns the next byte without consuming it. The decoder
// reads from the same bufio.Reader, so skipping here is safe.
func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
			continue
		}
		return b[0], nil
	}
}

// trailerError returns the X-Stream-Error trailer as an api.Error, or nil. The trailer may be a
// plain message or a JSON api.Error.
func trailerError(resp *http.Response) error {
	v := strings.TrimSpace(resp.Trailer.Get(StreamErrorTrailer))
	if v == "" {
		return nil
	}
	var e api.Error
	if strings.HasPrefix(v, "{") && json.Unmarshal([]byte(v), &e) == nil && e.Message != "" {
		if e.Code == 0 {
			e.Code = http.StatusInternalServerError
		}
		return e
	}
	code := http.StatusInternalServerError
	if c, err := strconv.Atoi(strings.TrimSpace(resp.Trailer.Get(StreamErrorCodeTrailer))); err == nil && c >= 400 && c <= 599 {
		code = c
	}
	return api.Error{Code: code, Message: v}
}

// lineDecoder is an item with a fast decoder of one NDJSON line (api.GlobalPinInfo): it
// reports false for what encoding/json must decode.
type lineDecoder interface{ DecodeLine([]byte) bool }

// decodeLines decodes an NDJSON stream of items that have a line decoder, one line at a time:
// without encoding/json's scan of every value before decoding it, and without its reflection
// where the line decoder takes the line. Blank lines are skipped.
func decodeLines[T any](br *bufio.Reader, fn func(T) error) error {
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull { // a line longer than the buffer: gather it
			long = append(long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading response stream: %w", err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var v T
			if !any(&v).(lineDecoder).DecodeLine(line) {
				if uerr := json.Unmarshal(line, &v); uerr != nil {
					return fmt.Errorf("bad item in response stream: %w", uerr)
				}
			}
			if ferr := fn(v); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}
