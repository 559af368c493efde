package rest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pincluster/pincluster/api"
)

// allocations streams the pinset (GET /allocations) as stored, one pin per line, without
// decoding it.
func (s *Server) allocations(w http.ResponseWriter, r *http.Request) {
	types, err := api.ParsePinTypes(r.URL.Query().Get("filter"))
	if err != nil {
		writeError(w, err)
		return
	}
	q, err := pinQueryOf(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Trailer", streamTrailers)
	// Unlike the other streams this one needs no background flusher: pins come as fast as
	// Badger reads them, and the 64 KiB buffer fills (and goes out) often.
	var bw *bufio.Writer
	rc := http.NewResponseController(w)
	last, n := time.Now(), 0
	list := s.svc.Pins.PinsJSON
	if !q.IsZero() {
		list = func(ctx context.Context, fn func([]byte) error) error { return s.svc.Pins.FindPinsJSON(ctx, q, fn) }
	}
	err = list(r.Context(), func(b []byte) error {
		if !types[pinTypeOf(b)] {
			return nil
		}
		if bw == nil {
			w.WriteHeader(http.StatusOK)
			bw = bufio.NewWriterSize(w, streamBufSize)
		}
		bw.Write(b)
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
		if n++; n%256 != 0 {
			return nil
		}
		if now := time.Now(); now.Sub(last) > flushInterval {
			last = now
			if err := bw.Flush(); err != nil {
				return err
			}
			rc.Flush()
		}
		return nil
	})
	if bw == nil {
		if err != nil {
			h.Del("Trailer")
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		setStreamError(h, err)
	}
}

// pinQueryOf reads the lookup parameters of GET /allocations (a pincluster extension):
// name, name-match (exact, iexact, partial, ipartial) and meta-KEY=VALUE pairs.
func pinQueryOf(v url.Values) (api.PinQuery, error) {
	q := api.PinQuery{Name: v.Get("name"), NameMatch: v.Get("name-match")}
	for k, vs := range v {
		key, ok := strings.CutPrefix(k, "meta-")
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return q, fmt.Errorf("%w: %s is given %d times", api.ErrInvalid, k, len(vs))
		}
		if q.Meta == nil {
			q.Meta = map[string]string{}
		}
		q.Meta[key] = vs[0]
	}
	return q, q.Validate()
}

// pinTypeOf reads the type of a stored pin's JSON without decoding it: "type" is the second
// field api.Pin marshals (after the CID, which holds no quote), so its first occurrence is
// the pin's own. A pin without one is a plain pin.
func pinTypeOf(js []byte) api.PinType {
	const key = `"type":"`
	// Stored pins are encoding/json's: the type right after the CID, which needs no escape.
	if rest, ok := bytes.CutPrefix(js, []byte(`{"cid":"`)); ok {
		if i := bytes.IndexByte(rest, '"'); i >= 0 {
			if v, ok := bytes.CutPrefix(rest[i+1:], []byte(`,`+key)); ok {
				if j := bytes.IndexByte(v, '"'); j > 0 {
					return pinTypeNamed(v[:j])
				}
			}
		}
	}
	i := bytes.Index(js, []byte(key))
	if i < 0 {
		return api.PinTypeData
	}
	rest := js[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 {
		return api.PinTypeData
	}
	return pinTypeNamed(rest[:j])
}

// pinTypeNamed is the type named b: a constant for the known ones (no string allocated per
// pin listed).
func pinTypeNamed(b []byte) api.PinType {
	for _, t := range api.PinTypes {
		if string(b) == string(t) {
			return t
		}
	}
	return api.PinType(b)
}

func (s *Server) allocation(w http.ResponseWriter, r *http.Request) {
	c, err := pathCid(r, "cid")
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := s.svc.Pins.PinGet(r.Context(), c)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// statusAll streams GET /pins, validating every parameter before the stream starts.
func (s *Server) statusAll(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	local, err := queryBool(q, "local")
	if err != nil {
		writeError(w, err)
		return
	}
	fresh, err := freshQuery(q, local)
	if err != nil {
		writeError(w, err)
		return
	}
	filter, err := api.ParseTrackerStatusFilter(q.Get("filter"))
	if err != nil {
		writeError(w, err)
		return
	}
	var cids []api.Cid
	if v := q.Get("cids"); v != "" {
		for _, part := range strings.Split(v, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			c, err := api.DecodeCid(part)
			if err != nil {
				writeError(w, fmt.Errorf("cids: %w", err))
				return
			}
			cids = append(cids, c)
		}
	}
	st := newStatusStreamer(w, r)
	text := st.text
	ts, hasText := s.svc.Status.(TextStatus)
	switch {
	case local && len(cids) == 0 && text && hasText: // the fast paths of the whole pinset
		st.finish(ts.StatusLocalText(r.Context(), filter, st.block))
		return
	case local && len(cids) == 0 && !text:
		st.finish(s.svc.Status.StatusLocalJSON(r.Context(), filter, st.raw))
		return
	}
	if fs, ok := s.svc.Status.(FreshStatus); ok && fresh {
		st.finish(fs.StatusAllFresh(r.Context(), filter, cids, st.status))
		return
	}
	if !local && len(cids) == 0 {
		if gs, ok := s.svc.Status.(GlobalStatusJSON); ok && !text {
			st.finish(gs.StatusJSON(r.Context(), filter, st.raw))
			return
		}
		if text && hasText {
			st.finish(ts.StatusText(r.Context(), filter, st.block))
			return
		}
	}
	st.finish(s.svc.Status.StatusAll(r.Context(), filter, local, cids, st.status))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	c, err := pathCid(r, "cid")
	if err != nil {
		writeError(w, err)
		return
	}
	local, err := queryBool(r.URL.Query(), "local")
	if err != nil {
		writeError(w, err)
		return
	}
	fresh, err := freshQuery(r.URL.Query(), local)
	if err != nil {
		writeError(w, err)
		return
	}
	status := s.svc.Status.Status
	if fs, ok := s.svc.Status.(FreshStatus); ok && fresh {
		status = func(ctx context.Context, c api.Cid, _ bool) (api.GlobalPinInfo, error) { return fs.StatusFresh(ctx, c) }
	}
	g, err := status(r.Context(), c, local)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

func (s *Server) pin(w http.ResponseWriter, r *http.Request) {
	c, err := pathCid(r, "cid")
	if err != nil {
		writeError(w, err)
		return
	}
	opts, err := api.PinOptionsFromQuery(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := s.svc.Pins.Pin(r.Context(), c, opts)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) unpin(w http.ResponseWriter, r *http.Request) {
	c, err := pathCid(r, "cid")
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := s.svc.Pins.Unpin(r.Context(), c)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// contentPath rebuilds an /ipfs/, /ipns/ or /ipld/ path from POST|DELETE /pins/{first}/{rest...}.
func contentPath(r *http.Request) (string, bool) {
	switch first := r.PathValue("first"); first {
	case "ipfs", "ipns", "ipld":
		return "/" + first + "/" + r.PathValue("rest"), true
	}
	return "", false
}

// pinsSub serves POST /pins/{cid}/recover and POST /pins/ipfs/{path...}.
func (s *Server) pinsSub(w http.ResponseWriter, r *http.Request) {
	if path, ok := contentPath(r); ok {
		opts, err := api.PinOptionsFromQuery(r.URL.Query(), time.Now())
		if err != nil {
			writeError(w, err)
			return
		}
		p, err := s.svc.Pins.PinPath(r.Context(), path, opts)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, p)
		return
	}
	if r.PathValue("rest") != "recover" {
		writeErrorStatus(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s (use /pins/{cid}, /pins/{cid}/recover or /pins/ipfs/{path})", r.Method, r.URL.Path))
		return
	}
	c, err := pathCid(r, "first")
	if err != nil {
		writeError(w, err)
		return
	}
	local, err := queryBool(r.URL.Query(), "local")
	if err != nil {
		writeError(w, err)
		return
	}
	g, err := s.svc.Status.Recover(r.Context(), c, local)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// unpinPath serves DELETE /pins/ipfs/{path...}.
func (s *Server) unpinPath(w http.ResponseWriter, r *http.Request) {
	path, ok := contentPath(r)
	if !ok {
		writeErrorStatus(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s (use /pins/{cid} or /pins/ipfs/{path})", r.Method, r.URL.Path))
		return
	}
	p, err := s.svc.Pins.UnpinPath(r.Context(), path)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) recoverAll(w http.ResponseWriter, r *http.Request) {
	local, err := queryBool(r.URL.Query(), "local")
	if err != nil {
		writeError(w, err)
		return
	}
	st := newStreamer(w)
	st.finish(s.svc.Status.RecoverAll(r.Context(), local, func(g api.GlobalPinInfo) error { return st.item(g) }))
}
