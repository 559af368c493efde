package ipfsproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/ipfs/boxo/files"

	"github.com/pincluster/pincluster/api"
)

// addEvent is a line of Kubo's add output: an entry added (Hash, Size) or progress (Bytes).
type addEvent struct {
	Name  string
	Hash  string `json:",omitempty"`
	Bytes int64  `json:",omitempty"`
	Size  string `json:",omitempty"`
}

// add imports a multipart body (Kubo's add) with the Adder, which pins what it imports in the
// cluster unless pin=false, and streams Kubo's lines. The "added" lines of an add (of each
// top-level entry without wrap-with-directory, see addEach) are held back until its import and
// pin are done (up to addHoldLines, or the first progress line), so that a body found malformed
// halfway shows nothing of it as added, and is answered 400 when nothing was added before it
// (see api/rest's addOutput for the reasoning).
func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	params, opts, err := addParams(q)
	if err != nil {
		writeError(w, err)
		return
	}
	if s.d.Guard != nil {
		if err := s.d.Guard("add"); err != nil {
			writeError(w, err) // before full duplex: net/http reads what it can of the body first
			return
		}
	}
	mr, err := multipartBody(r, "add")
	if err != nil {
		writeError(w, err)
		return
	}
	_ = http.NewResponseController(w).EnableFullDuplex() // progress while the body is read
	// With full duplex net/http reads the end of the body (after the closing boundary, where
	// the multipart reader stops) only after the handler, and ignores a failure there (past
	// read_timeout): it would then parse that end as the next request and write a stray 400 on
	// the kept-alive connection. An add is worth its own connection.
	w.Header().Set("Connection", "close")
	ao := &addOut{st: newStream(w, "application/json", "X-Chunked-Output"), progress: params.Progress, silent: opts.silent}
	if params.WrapWithDirectory {
		root, err := s.d.Add.Add(r.Context(), mr, nil, params, ao.out)
		ao.finish(root, err)
		return
	}
	root, err := s.addEach(r.Context(), mr, params, ao)
	ao.finish(root, err)
}

// addEach adds every top-level entry of the body (the files and directories the user named) as
// an add of its own, as Kubo's add does without wrap-with-directory: the Adder pins the one root
// an add returns, so a single add of `ipfs add f1 f2` pinned f2 alone. Each entry goes to the
// Adder as a multipart body of its own, re-encoded as it streams (nothing is buffered), so each
// is allocated, imported and pinned like any add, and its lines are Kubo's (one per file).
//
// The entries are added in turn and stop at the first failure, as in Kubo: those before it stay
// added and pinned, so once one is done its lines go out and a later failure is reported in the
// trailer (a 200), not as a 400 that would say nothing changed. An entry pinned whose wait
// for its replicas failed (api.AfterPinError) is added: the next ones go on, and that error is
// reported at the end (review: it stopped the add after the first entry). The root returned
// is the last one added.
func (s *Server) addEach(ctx context.Context, mr *multipart.Reader, params api.AddParams, ao *addOut) (api.Cid, error) {
	top, err := files.NewFileFromPartReader(mr, "multipart/form-data")
	if err != nil {
		return api.CidUndef, badArg("malformed multipart body: %v", err)
	}
	var root api.Cid
	var afterPin error // the first entry pinned but not confirmed replicated
	added := 0
	it := top.Entries()
	for it.Next() {
		one := files.NewMapDirectory(map[string]files.Node{it.Name(): it.Node()})
		body := files.NewMultiFileReader(one, true, false)
		c, err := s.d.Add.Add(ctx, multipart.NewReader(body, body.Boundary()), nil, params, ao.out)
		var ap *api.AfterPinError
		switch {
		case errors.As(err, &ap):
			if afterPin == nil {
				afterPin = err
			}
		case err != nil:
			return c, err
		}
		root = c
		added++
		ao.entryDone()
	}
	if err := it.Err(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return root, ctxErr
		}
		return root, badArg("malformed multipart body: %v", err)
	}
	if added == 0 {
		return api.CidUndef, badArg("nothing to add (no files in the request)")
	}
	return root, afterPin
}

// multipartBody is the request's multipart reader; anything else is a 400.
func multipartBody(r *http.Request, cmd string) (*multipart.Reader, error) {
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(mediaType, "multipart/") || params["boundary"] == "" {
		return nil, badArg("%s needs a multipart/form-data body with the files, got Content-Type %q", cmd, r.Header.Get("Content-Type"))
	}
	if r.ContentLength == 0 {
		return nil, badArg("%s: the request body is empty", cmd)
	}
	return multipart.NewReader(r.Body, params["boundary"]), nil
}

// addHoldLines bounds the added lines held back until the add ends.
const addHoldLines = 4096

// addOut turns the Adder's output into Kubo's lines.
type addOut struct {
	st       *stream
	progress bool
	silent   bool // no line for the entries added (Kubo's silent)

	mu       sync.Mutex
	held     []addEvent
	released bool
	wrote    bool
}

func (a *addOut) out(o api.AddedOutput) {
	if !o.Cid.Defined() && (!a.progress || len(o.Allocations) > 0) {
		return // a cluster push's progress (an allocation named) has no Kubo form
	}
	if o.Cid.Defined() && a.silent {
		return
	}
	ev := addEvent{Name: o.Name}
	if o.Cid.Defined() {
		ev.Hash = o.Cid.String()
		ev.Size = strconv.FormatUint(o.Size, 10)
	} else {
		ev.Bytes = int64(o.Bytes)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.wrote = true
	if !a.released && o.Cid.Defined() && len(a.held) < addHoldLines {
		a.held = append(a.held, ev)
		return
	}
	a.releaseLocked()
	a.st.json(ev)
	if !o.Cid.Defined() {
		a.st.flush()
	}
}

// entryDone writes the held lines once an entry is added (and pinned): they are a result now,
// whatever happens to the entries after it, and the answer is a 200 from then on, a later
// failure going to the trailer. The next entry's lines are held back in turn (unless progress
// lines already released them all), so that an entry that fails shows nothing as added.
func (a *addOut) entryDone() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.writeHeldLocked()
	a.st.start()
}

// releaseLocked writes the held lines and stops holding any back.
func (a *addOut) releaseLocked() {
	if a.released {
		return
	}
	a.released = true
	a.writeHeldLocked()
}

func (a *addOut) writeHeldLocked() {
	for _, ev := range a.held {
		if a.st.json(ev) != nil {
			break
		}
	}
	a.held = nil
}

// finish writes the held lines unless the add failed before any went out, then ends the
// answer (an error before the first line is a status; after it, the trailer).
func (a *addOut) finish(root api.Cid, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var afterPin *api.AfterPinError
	if err == nil && !a.wrote && !a.silent && root.Defined() {
		a.held = append(a.held, addEvent{Name: root.String(), Hash: root.String()})
	}
	if err == nil || a.released || errors.As(err, &afterPin) {
		a.releaseLocked()
	}
	a.st.finish(err)
}

// importRoot is a line of Kubo's dag/import output.
type importRoot struct {
	Root struct {
		Cid         cidLink
		PinErrorMsg string
	}
}

// cidLink is a CID as Kubo's JSON writes it: {"/": "bafy..."}.
type cidLink struct {
	Slash string `json:"/"`
}

// dagImport stores the CARs of a multipart body in the IPFS node, then pins their roots in the
// cluster (unless pin-roots=false), as Kubo's dag import does: a CAR may list any number of
// roots, none too, and need not carry their blocks (another CAR of the same body may; the
// roots listed by several CARs are pinned once). Every CAR is imported before the first pin,
// so a bad one (400) pins nothing; its blocks and those of the CARs before it stay unpinned and
// go at the next gc. A root whose block the node does not hold once every CAR is in is not
// pinned (the pin could never complete here): its line says so in PinErrorMsg, as Kubo's
// pin of it fails. With pin-roots=false no root is told, as by Kubo.
func (s *Server) dagImport(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	pinRoots, err := q.bool(true, "pin-roots")
	if err != nil {
		writeError(w, err)
		return
	}
	if st, err := q.bool(false, "stats"); err != nil || st {
		if err == nil {
			err = badArg("dag import --stats is not supported by the embedded IPFS node")
		}
		writeError(w, err)
		return
	}
	mr, err := multipartBody(r, "dag/import")
	if err != nil {
		writeError(w, err)
		return
	}
	var roots []api.Cid
	seen := map[api.Cid]bool{}
	cars := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeError(w, badArg("malformed multipart body: %v", err))
			return
		}
		if ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct == "application/x-directory" {
			part.Close()
			continue
		}
		cars++
		rs, err := s.d.Node.ImportCARRoots(r.Context(), part)
		part.Close()
		if err != nil {
			writeError(w, fmt.Errorf("importing CAR %d: %w", cars, err))
			return
		}
		for _, root := range rs {
			if !seen[root] {
				seen[root] = true
				roots = append(roots, root)
			}
		}
	}
	if cars == 0 {
		writeError(w, badArg("dag/import: the body has no CAR file"))
		return
	}
	st := newStream(w, "application/json", "X-Chunked-Output")
	if !pinRoots {
		st.finish(nil) // Kubo tells only the roots it pinned, or failed to: its CLI prints each as "Pinned root"
		return
	}
	// The first CARs' roots were protected from gc when they were imported: renewed now that
	// the last one is in, however long the upload took.
	s.d.Node.ProtectRoots(roots)
	for _, root := range roots {
		var line importRoot
		line.Root.Cid.Slash = root.String()
		has, err := s.d.Node.HasBlock(r.Context(), root)
		if err != nil && !errors.Is(err, ErrNotImplemented) {
			// Cannot tell: the pin goes ahead (the cluster fetches what is missing).
			s.log.Debug("dag import: checking for a root block", "cid", root, "err", err)
		}
		if err == nil && !has {
			line.Root.PinErrorMsg = fmt.Sprintf("not pinned: the root block %s is in none of the imported CARs, nor on this peer's IPFS node", root)
		} else if _, err := s.d.Pins.Pin(r.Context(), root, api.PinOptions{}); err != nil {
			line.Root.PinErrorMsg = err.Error() // each root's failure is its line's, as in Kubo
		}
		if st.json(line) != nil {
			break
		}
	}
	st.finish(nil)
}
