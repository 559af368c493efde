package ipfsproxy

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/pincluster/pincluster/api"
)

// pinOutput is Kubo's pin add / rm / update answer.
type pinOutput struct {
	Pins []string
}

// pinAdd pins every argument in the cluster (recursive unless recursive=false, name), with
// the cluster's default replication. Every argument is checked and resolved before the first
// pin, so a bad one changes nothing. With progress=true the answer is a stream (as Kubo's), of
// one {"Pins"} line: the cluster acknowledges a pin when it is durable in the pinset and
// fetches the blocks afterwards, so there is no fetch progress to report.
func (s *Server) pinAdd(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	recursive, err := q.bool(true, "recursive", "r")
	if err != nil {
		writeError(w, err)
		return
	}
	progress, err := q.bool(false, "progress")
	if err != nil {
		writeError(w, err)
		return
	}
	opts := api.PinOptions{Name: q.str("name", "n"), Mode: api.PinModeRecursive}
	if !recursive {
		opts.Mode = api.PinModeDirect
	}
	if err := opts.ValidateLimits(); err != nil {
		writeError(w, err)
		return
	}
	argv, err := args(r, q, true)
	if err != nil {
		writeError(w, err)
		return
	}
	cids, err := s.cidsOf(r, argv, "ipfs-path")
	if err != nil {
		writeError(w, err)
		return
	}
	out := pinOutput{Pins: []string{}}
	for _, c := range cids {
		pin, err := s.d.Pins.Pin(r.Context(), c, opts)
		if err != nil {
			writeError(w, fmt.Errorf("pin %s: %w", c, err))
			return
		}
		out.Pins = append(out.Pins, pin.Cid.String())
	}
	if progress {
		w.Header().Set("X-Chunked-Output", "1")
	}
	writeJSON(w, out)
}

// pinRm unpins every argument from the cluster. Kubo's recursive=false removes only direct
// pins: a recursive pin is then an error, as in Kubo. All are checked first.
func (s *Server) pinRm(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	recursive, err := q.bool(true, "recursive", "r")
	if err != nil {
		writeError(w, err)
		return
	}
	argv, err := args(r, q, true)
	if err != nil {
		writeError(w, err)
		return
	}
	cids, err := s.cidsOf(r, argv, "ipfs-path")
	if err != nil {
		writeError(w, err)
		return
	}
	for _, c := range cids {
		pin, err := s.d.Pins.PinGet(r.Context(), c)
		if err != nil {
			writeError(w, notPinned(c, err))
			return
		}
		if !recursive && pin.Mode == api.PinModeRecursive {
			writeError(w, fmt.Errorf("%s is pinned recursively", c))
			return
		}
	}
	out := pinOutput{Pins: []string{}}
	for _, c := range cids {
		if _, err := s.d.Pins.Unpin(r.Context(), c); err != nil {
			writeError(w, notPinned(c, err))
			return
		}
		out.Pins = append(out.Pins, c.String())
	}
	writeJSON(w, out)
}

// notPinned words a missing pin as Kubo does.
func notPinned(c api.Cid, err error) error {
	if errors.Is(err, api.ErrNotFound) {
		return fmt.Errorf("%s: not pinned or pinned indirectly: %w", c, api.ErrNotFound)
	}
	return err
}

// pinUpdate pins to with the options and allocations of from, then (unless unpin=false)
// unpins from. from must be pinned in the cluster.
func (s *Server) pinUpdate(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	unpin, err := q.bool(true, "unpin")
	if err != nil {
		writeError(w, err)
		return
	}
	argv, err := args(r, q, false)
	if err != nil {
		writeError(w, err)
		return
	}
	switch len(argv) {
	case 0:
		writeError(w, badArg("argument \"from-path\" is required"))
		return
	case 1:
		writeError(w, badArg("argument \"to-path\" is required"))
		return
	case 2:
	default:
		writeError(w, badArg("pin update takes two arguments (from-path, to-path), got %d", len(argv)))
		return
	}
	cids, err := s.cidsOf(r, argv, "from-path")
	if err != nil {
		writeError(w, err)
		return
	}
	from, to := cids[0], cids[1]
	if _, err := s.d.Pins.PinGet(r.Context(), from); err != nil {
		if errors.Is(err, api.ErrNotFound) {
			err = fmt.Errorf("'from' cid %s was not pinned already: %w", from, api.ErrNotFound)
		}
		writeError(w, err)
		return
	}
	if _, err := s.d.Pins.Pin(r.Context(), to, api.PinOptions{PinUpdate: from}); err != nil {
		writeError(w, fmt.Errorf("pin %s: %w", to, err))
		return
	}
	if unpin && from != to {
		if _, err := s.d.Pins.Unpin(r.Context(), from); err != nil && !errors.Is(err, api.ErrNotFound) {
			writeError(w, fmt.Errorf("pinned %s, but unpinning %s failed: %w", to, from, err))
			return
		}
	}
	writeJSON(w, pinOutput{Pins: []string{from.String(), to.String()}})
}

// pinLsType is a pin of Kubo's {"Keys":{cid: {"Type","Name"}}}.
type pinLsType struct {
	Type string
	Name string
}

// pinLsObject is a line of pin ls --stream.
type pinLsObject struct {
	Cid  string `json:",omitempty"`
	Name string `json:",omitempty"`
	Type string `json:",omitempty"`
}

// pinLs lists the cluster's pinset (not the node's pins): every pin, or those named by the
// arguments (each must be pinned), filtered by type (the cluster has no indirect pins: type
// indirect lists nothing), with names when names=true or a name filter is given.
func (s *Server) pinLs(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	typ := q.str("type", "t")
	switch typ {
	case "":
		typ = "all"
	case "all", "direct", "recursive", "indirect":
	default:
		writeError(w, badArg("invalid type '%s', must be one of {direct, indirect, recursive, all}", typ))
		return
	}
	stream, err := q.bool(false, "stream", "s")
	if err != nil {
		writeError(w, err)
		return
	}
	names, err := q.bool(false, "names")
	if err != nil {
		writeError(w, err)
		return
	}
	nameFilter := q.str("name", "n")
	names = names || nameFilter != ""
	argv, err := args(r, q, false)
	if err != nil {
		writeError(w, err)
		return
	}
	ps, err := parsePaths(argv, "ipfs-path", false)
	if err != nil {
		writeError(w, err)
		return
	}
	match := func(p api.Pin) (pinLsObject, bool) {
		t := p.Mode.String()
		if typ != "all" && typ != t {
			return pinLsObject{}, false
		}
		if nameFilter != "" && !strings.Contains(p.Name, nameFilter) {
			return pinLsObject{}, false
		}
		o := pinLsObject{Cid: p.Cid.String(), Type: t}
		if names {
			o.Name = p.Name
		}
		return o, true
	}

	var pins []pinLsObject // with arguments, or without stream
	keys := map[string]pinLsType{}
	if len(ps) > 0 {
		cids, err := resolve(r.Context(), s.d.Node, ps)
		if err != nil {
			writeError(w, err)
			return
		}
		for i, c := range cids {
			p, err := s.d.Pins.PinGet(r.Context(), c)
			if errors.Is(err, api.ErrNotFound) {
				writeError(w, fmt.Errorf("path '%s' is not pinned: %w", argv[i], api.ErrNotFound))
				return
			}
			if err != nil {
				writeError(w, err)
				return
			}
			o, ok := match(p)
			if !ok {
				writeError(w, fmt.Errorf("path '%s' is not pinned as %s: %w", argv[i], typ, api.ErrNotFound))
				return
			}
			pins = append(pins, o)
		}
	}
	if stream {
		s.pinLsStream(w, r, pins, len(ps) > 0, match)
		return
	}
	if len(ps) == 0 {
		err := s.d.Pins.PinsJSON(r.Context(), func(js []byte) error {
			var p api.Pin
			if err := json.Unmarshal(js, &p); err != nil {
				return fmt.Errorf("decoding a stored pin: %w", err)
			}
			if o, ok := match(p); ok {
				keys[o.Cid] = pinLsType{Type: o.Type, Name: o.Name}
			}
			return nil
		})
		if err != nil {
			writeError(w, err)
			return
		}
	}
	for _, o := range pins {
		keys[o.Cid] = pinLsType{Type: o.Type, Name: o.Name}
	}
	writeJSON(w, struct{ Keys map[string]pinLsType }{keys})
}

// pinLsStream writes one pinLsObject per line (Kubo's --stream), the pinset as it is read.
func (s *Server) pinLsStream(w http.ResponseWriter, r *http.Request, given []pinLsObject, fromArgs bool, match func(api.Pin) (pinLsObject, bool)) {
	st := newStream(w, "application/json", "X-Chunked-Output")
	if fromArgs {
		for _, o := range given {
			if err := st.json(o); err != nil {
				break
			}
		}
		st.finish(nil)
		return
	}
	err := s.d.Pins.PinsJSON(r.Context(), func(js []byte) error {
		var p api.Pin
		if err := json.Unmarshal(js, &p); err != nil {
			return fmt.Errorf("decoding a stored pin: %w", err)
		}
		if o, ok := match(p); ok {
			return st.json(o)
		}
		return nil
	})
	st.finish(err)
}

// stream writes a streamed answer: the 200 goes out with the first write, so an error before
// it is still a status with a Kubo error; after it, errors go in the X-Stream-Error trailer.
type stream struct {
	w       http.ResponseWriter
	bw      *bufio.Writer
	ctype   string
	kind    string // X-Chunked-Output (values) or X-Stream-Output (bytes)
	started bool
	err     error // first write error: the client went away
}

func newStream(w http.ResponseWriter, ctype, kind string) *stream {
	return &stream{w: w, ctype: ctype, kind: kind}
}

func (s *stream) start() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", s.ctype)
	h.Set(s.kind, "1")
	h.Set("Trailer", "X-Stream-Error")
	s.w.WriteHeader(http.StatusOK)
	s.bw = bufio.NewWriterSize(s.w, 32<<10)
}

// Write writes raw bytes (X-Stream-Output answers).
func (s *stream) Write(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.start()
	n, err := s.bw.Write(b)
	if err != nil {
		s.err = err
	}
	return n, err
}

// json writes v as one line.
func (s *stream) json(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = s.Write(append(b, '\n'))
	return err
}

// flush sends what is buffered (a progress line).
func (s *stream) flush() {
	if !s.started || s.err != nil {
		return
	}
	if err := s.bw.Flush(); err != nil {
		s.err = err
		return
	}
	http.NewResponseController(s.w).Flush()
}

// finish ends the answer: err as a Kubo error when nothing went out yet, else in the trailer.
func (s *stream) finish(err error) {
	if !s.started {
		if err != nil {
			writeError(s.w, err)
			return
		}
		s.start()
	}
	if s.err == nil {
		s.bw.Flush()
	}
	if err != nil {
		s.w.Header().Set("X-Stream-Error", err.Error())
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
