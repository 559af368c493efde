package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// MaxLineBytes bounds one input line (without its newline). A longer line is reported as bad
// and skipped; the lines after it are read as usual.
const MaxLineBytes = 64 << 10

// maxInputEcho bounds the part of a bad line echoed back in its report.
const maxInputEcho = 256

// Line is one parsed input line: a CID with the options it asked for, or Err.
type Line struct {
	// N is the 1-based line number in the input.
	N int
	// Cid is the CID the line names (undefined when Err is set).
	Cid api.Cid
	// Opts are the line's own options merged over the command-line ones; replication factors
	// still 0 take the cluster defaults later (api.PinOptions.ApplyDefaults).
	Opts api.PinOptions
	// Err says why the line is bad (it wraps api.ErrInvalid).
	Err error
	// input is the line as read, for reports of bad lines (see Input).
	input []byte
}

// Input is the line as read, cut to a few hundred bytes, for reports.
func (l Line) Input() string {
	b := l.input
	if len(b) > maxInputEcho {
		b = b[:maxInputEcho]
		return strings.ToValidUTF8(string(b), "?") + "..."
	}
	return strings.ToValidUTF8(string(b), "?")
}

// Reader reads lines of a batch input one at a time, in constant memory whatever the input's
// length: one CID or /ipfs/<cid> (or /ipld/<cid>) per line, or an NDJSON object (fields in
// lineJSON); blank lines and lines starting with # are skipped, and so is a UTF-8 byte order
// mark at the start of the input. A bad line (not a CID, an unknown or repeated field, options
// that fail api.PinOptions.Validate, over MaxLineBytes, not text) is returned with Err set;
// reading goes on after it.
type Reader struct {
	br       *bufio.Reader
	src      *shortReads
	defaults api.PinOptions
	n        int
	started  bool  // the byte order mark is checked
	err      error // sticky read error
	onWait   func()
}

// OnWait sets f to be called by Next before it reads input that may not have arrived yet (no
// whole line is buffered, and the last read of the input took all it had), so that the caller
// can hand on the lines it holds before Next waits for a slow writer.
func (r *Reader) OnWait(f func()) { r.onWait = f }

// mayWait reports whether the next line may have to wait for input.
func (r *Reader) mayWait() bool {
	if !r.src.short {
		return false
	}
	b, _ := r.br.Peek(r.br.Buffered())
	return bytes.IndexByte(b, '\n') < 0
}

// NewReader reads r. defaults are the command-line options, applied field by field to every
// line that does not set its own.
func NewReader(r io.Reader, defaults api.PinOptions) *Reader {
	// Room for a longest line with its CRLF, so a line too long is one that fills the buffer
	// without its end (or one whose content found is over MaxLineBytes).
	src := &shortReads{r: r}
	return &Reader{br: bufio.NewReaderSize(src, MaxLineBytes+2), src: src, defaults: defaults}
}

// shortReads records whether the last read of the input returned less than asked: the input
// had no more for now, so the next read may wait (a body read returns what the connection has).
type shortReads struct {
	r     io.Reader
	short bool
}

func (s *shortReads) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.short = n < len(p)
	return n, err
}

// bom is UTF-8's byte order mark, which Windows editors write at the start of a text file.
var bom = []byte("\xef\xbb\xbf")

// Next returns the next non-blank, non-comment line. It returns io.EOF at the end of the
// input, and any other read error of the underlying reader as it is (the lines returned before
// it stand).
func (r *Reader) Next() (Line, error) {
	for {
		if r.onWait != nil && r.mayWait() {
			r.onWait()
		}
		raw, tooLong, err := r.readLine()
		if err != nil {
			return Line{}, err
		}
		r.n++
		if tooLong {
			if raw == nil {
				continue // a comment
			}
			return Line{N: r.n, input: raw, Err: fmt.Errorf("%w: line is longer than %d bytes", api.ErrInvalid, MaxLineBytes)}, nil
		}
		b := bytes.TrimSpace(raw)
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		l := Line{N: r.n, input: b}
		l.Cid, l.Opts, l.Err = parseLine(b, r.defaults)
		if l.Err != nil {
			l.Cid = api.CidUndef
		}
		return l, nil
	}
}

// readLine returns the next line without its line ending (LF or CRLF). A line over
// MaxLineBytes is consumed to its end and returned cut, with tooLong set, or nil when it is a
// comment. The returned slice is valid until the next call.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	if r.err != nil {
		return nil, false, r.err
	}
	if !r.started {
		r.started = true
		if b, _ := r.br.Peek(len(bom)); bytes.Equal(b, bom) {
			_, _ = r.br.Discard(len(bom))
		}
	}
	line, err = r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Only the head is kept, for the report; whether the line is a comment is known from
		// its first byte that is not a space, which may come after the head.
		head := append([]byte(nil), line[:maxInputEcho]...)
		comment, decided := firstByteIsHash(line)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.br.ReadSlice('\n')
			if !decided {
				comment, decided = firstByteIsHash(line)
			}
		}
		if err != nil {
			r.err = err // io.EOF, or a read error returned at the next call
		}
		if comment {
			return nil, true, nil
		}
		return head, true, nil
	}
	if err == io.EOF {
		r.err = io.EOF
		if len(line) == 0 {
			return nil, false, io.EOF
		}
		// The last line, without a line ending (a CR alone is taken as one).
	} else if err != nil {
		r.err = err
		return nil, false, err
	} else {
		line = line[:len(line)-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > MaxLineBytes {
		if comment, _ := firstByteIsHash(line); comment {
			return nil, true, nil
		}
		return line[:maxInputEcho], true, nil
	}
	return line, false, nil
}

// firstByteIsHash reports whether b's first byte that is not white space is '#'; decided is
// false when b is all white space.
func firstByteIsHash(b []byte) (comment, decided bool) {
	i := bytes.IndexFunc(b, func(r rune) bool { return !unicode.IsSpace(r) })
	if i < 0 {
		return false, false
	}
	return b[i] == '#', true
}

// lineJSON is an NDJSON line. Pointers tell a field that is absent (the command-line option
// applies) from one set to its zero value.
type lineJSON struct {
	Cid                  string             `json:"cid"`
	Name                 *string            `json:"name"`
	ReplicationFactorMin *int               `json:"replication_factor_min"`
	ReplicationFactorMax *int               `json:"replication_factor_max"`
	Allocations          *[]string          `json:"allocations"`
	Mode                 *string            `json:"mode"`
	ExpireAt             *time.Time         `json:"expire_at"`
	Metadata             *map[string]string `json:"metadata"`
}

// lineKeys are the keys of lineJSON, exactly as written in its tags.
var lineKeys = func() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeFor[lineJSON]()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}()

// checkKeys refuses what encoding/json takes silently in the object b (decoded without error
// already): a key that matches a field only when case is ignored ("NAME"), and a key given
// twice (where the last value would win). Either is more likely a mistake than a wish, and a
// line that pins other than it reads is worse than a line reported bad.
func checkKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // the object's '{'
		return fmt.Errorf("%w: bad JSON line: %v", api.ErrInvalid, err)
	}
	seen := make(map[string]bool, len(lineKeys))
	var skip json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: bad JSON line: %v", api.ErrInvalid, err)
		}
		key, _ := tok.(string)
		switch {
		case !lineKeys[key]:
			return fmt.Errorf("%w: bad JSON line: unknown field %q (fields are lower case: %s)", api.ErrInvalid, key, knownKeys)
		case seen[key]:
			return fmt.Errorf("%w: bad JSON line: duplicate field %q", api.ErrInvalid, key)
		}
		seen[key] = true
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("%w: bad JSON line: %v", api.ErrInvalid, err)
		}
	}
	return nil
}

// knownKeys lists lineKeys for messages, in lineJSON's order.
var knownKeys = func() string {
	t := reflect.TypeFor[lineJSON]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return strings.Join(names, ", ")
}()

// parseLine reads one trimmed, non-empty line.
func parseLine(b []byte, defaults api.PinOptions) (api.Cid, api.PinOptions, error) {
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return api.CidUndef, defaults, fmt.Errorf("%w: line is not text (NUL byte or invalid UTF-8)", api.ErrInvalid)
	}
	if b[0] != '{' {
		c, err := parseTarget(string(b))
		return c, defaults, err
	}
	var l lineJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return api.CidUndef, defaults, fmt.Errorf("%w: bad JSON line: %v", api.ErrInvalid, err)
	}
	if dec.More() {
		return api.CidUndef, defaults, fmt.Errorf("%w: bad JSON line: more than one value", api.ErrInvalid)
	}
	if err := checkKeys(b); err != nil {
		return api.CidUndef, defaults, err
	}
	if l.Cid == "" {
		return api.CidUndef, defaults, fmt.Errorf("%w: JSON line has no \"cid\"", api.ErrInvalid)
	}
	c, err := parseTarget(l.Cid)
	if err != nil {
		return api.CidUndef, defaults, err
	}
	o, err := l.options(defaults)
	return c, o, err
}

// options lays the line's fields over the defaults. It checks only what the JSON form adds
// (peer IDs, mode); the rest is api.PinOptions.Validate's, after the cluster defaults.
func (l lineJSON) options(o api.PinOptions) (api.PinOptions, error) {
	if l.Name != nil {
		o.Name = *l.Name
	}
	if l.ReplicationFactorMin != nil {
		o.ReplicationFactorMin = *l.ReplicationFactorMin
	}
	if l.ReplicationFactorMax != nil {
		o.ReplicationFactorMax = *l.ReplicationFactorMax
	}
	if l.Allocations != nil {
		o.UserAllocations = make([]peer.ID, 0, len(*l.Allocations))
		for _, s := range *l.Allocations {
			id, err := peer.Decode(s)
			if err != nil {
				return o, fmt.Errorf("%w: allocations: %q is not a peer ID", api.ErrInvalid, s)
			}
			o.UserAllocations = append(o.UserAllocations, id)
		}
	}
	if l.Mode != nil {
		m, err := api.ParsePinMode(*l.Mode)
		if err != nil {
			return o, err
		}
		o.Mode = m
	}
	if l.ExpireAt != nil {
		o.ExpireAt = *l.ExpireAt
	}
	if l.Metadata != nil {
		o.Metadata = *l.Metadata
	}
	return o, nil
}

// parseTarget reads a CID, /ipfs/<cid> or /ipld/<cid>. Paths into a DAG and IPNS names would
// need the IPFS node per line; a batch takes CIDs only.
func parseTarget(s string) (api.Cid, error) {
	if !strings.HasPrefix(s, "/") {
		return api.DecodeCid(s)
	}
	parts := strings.Split(strings.Trim(s, "/"), "/")
	if len(parts) == 2 && (parts[0] == "ipfs" || parts[0] == "ipld") {
		return api.DecodeCid(parts[1])
	}
	return api.CidUndef, fmt.Errorf("%w: %q: a batch line is a CID or /ipfs/<cid> (paths into a DAG and IPNS names are not resolved)", api.ErrInvalid, s)
}
