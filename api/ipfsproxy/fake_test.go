package ipfsproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/boxo/files"
	gocid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// cidOf is the raw-leaf CIDv1 of data, as the fakes name content.
func cidOf(data string) api.Cid {
	h, _ := mh.Sum([]byte(data), mh.SHA2_256, -1)
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

// fakePins is an in-memory pinset.
type fakePins struct {
	mu    sync.Mutex
	pins  map[string]api.Pin
	calls []string // "pin <cid>", "unpin <cid>"
	fail  error    // returned by Pin when set
}

func newFakePins() *fakePins { return &fakePins{pins: map[string]api.Pin{}} }

func (f *fakePins) Pin(_ context.Context, c api.Cid, opts api.PinOptions) (api.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return api.Pin{}, f.fail
	}
	if opts.PinUpdate.Defined() {
		from, ok := f.pins[opts.PinUpdate.String()]
		if !ok {
			return api.Pin{}, fmt.Errorf("%w: update from %s", api.ErrNotFound, opts.PinUpdate)
		}
		u := from.PinOptions
		u.PinUpdate = opts.PinUpdate
		opts = u
	}
	p := api.NewPin(c, opts)
	f.pins[c.String()] = p
	f.calls = append(f.calls, "pin "+c.String())
	return p, nil
}

func (f *fakePins) Unpin(_ context.Context, c api.Cid) (api.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c.String()]
	if !ok {
		return api.Pin{}, fmt.Errorf("%w: %s is not pinned", api.ErrNotFound, c)
	}
	delete(f.pins, c.String())
	f.calls = append(f.calls, "unpin "+c.String())
	return p, nil
}

func (f *fakePins) PinGet(_ context.Context, c api.Cid) (api.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c.String()]
	if !ok {
		return api.Pin{}, fmt.Errorf("%w: %s is not pinned", api.ErrNotFound, c)
	}
	return p, nil
}

func (f *fakePins) PinsJSON(ctx context.Context, fn func([]byte) error) error {
	f.mu.Lock()
	keys := make([]string, 0, len(f.pins))
	for k := range f.pins {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var js [][]byte
	for _, k := range keys {
		b, _ := json.Marshal(f.pins[k])
		js = append(js, b)
	}
	f.mu.Unlock()
	for _, b := range js {
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakePins) changes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// fakeAdder imports the body as the IPFS backends do (boxo's multipart parser, every file and
// directory reported with a CID of its content, a failure to read the body api.ErrInvalid before
// anything is pinned) and pins the root unless NoPin: the last top-level entry, or a wrapping
// directory with WrapWithDirectory. Each call's top-level entries are recorded.
type fakeAdder struct {
	pins   *fakePins
	params api.AddParams
	// unconfirmed: a root whose add pins it, then fails as a wait for its replicas does.
	unconfirmed api.Cid

	mu    sync.Mutex
	calls [][]string // per Add, the paths it imported, top-level and below
}

func (a *fakeAdder) Add(ctx context.Context, mr *multipart.Reader, car io.Reader, params api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
	a.params = params
	top, err := files.NewFileFromPartReader(mr, "multipart/form-data")
	if err != nil {
		return api.CidUndef, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	var paths []string
	var root api.Cid
	var listing strings.Builder
	it := top.Entries()
	for it.Next() {
		c, err := fakeImport(it.Name(), it.Node(), params, out, &paths)
		if err != nil {
			return api.CidUndef, err
		}
		root = c
		fmt.Fprintf(&listing, "%s %s\n", it.Name(), c)
	}
	if err := it.Err(); err != nil {
		return api.CidUndef, fmt.Errorf("%w: reading the multipart body: %v", api.ErrInvalid, err)
	}
	if !root.Defined() {
		return api.CidUndef, fmt.Errorf("%w: nothing to add", api.ErrInvalid)
	}
	if params.WrapWithDirectory {
		root = cidOf("dir:" + listing.String())
		out(api.AddedOutput{Cid: root})
	}
	a.mu.Lock()
	a.calls = append(a.calls, paths)
	a.mu.Unlock()
	if !params.NoPin {
		if _, err := a.pins.Pin(ctx, root, params.PinOptions); err != nil {
			return root, err
		}
		if a.unconfirmed.Defined() && root.String() == a.unconfirmed.String() {
			return root, &api.AfterPinError{Err: fmt.Errorf("%w: waiting for the replicas of %s", api.ErrTimeout, root)}
		}
	}
	return root, nil
}

// fakeImport reads one entry (a file is named by its content, a directory by its listing),
// reporting each entry as soon as it is read (as the embedded node does), children before their
// directory.
func fakeImport(path string, nd files.Node, params api.AddParams, out func(api.AddedOutput), paths *[]string) (api.Cid, error) {
	defer nd.Close()
	*paths = append(*paths, path)
	switch f := nd.(type) {
	case files.File:
		b, err := io.ReadAll(f)
		if err != nil {
			return api.CidUndef, fmt.Errorf("%w: reading the multipart body: %v", api.ErrInvalid, err)
		}
		c := cidOf(string(b))
		if params.Progress {
			out(api.AddedOutput{Name: path, Bytes: uint64(len(b))})
		}
		out(api.AddedOutput{Name: path, Cid: c, Size: uint64(len(b))})
		return c, nil
	case files.Directory:
		var listing strings.Builder
		it := f.Entries()
		for it.Next() {
			c, err := fakeImport(path+"/"+it.Name(), it.Node(), params, out, paths)
			if err != nil {
				return api.CidUndef, err
			}
			fmt.Fprintf(&listing, "%s %s\n", it.Name(), c)
		}
		if err := it.Err(); err != nil {
			return api.CidUndef, fmt.Errorf("%w: reading the multipart body: %v", api.ErrInvalid, err)
		}
		c := cidOf("dir:" + listing.String())
		out(api.AddedOutput{Name: path, Cid: c})
		return c, nil
	}
	return api.CidUndef, fmt.Errorf("%w: %s: unsupported file type", api.ErrInvalid, path)
}

func (a *fakeAdder) imported() [][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([][]string(nil), a.calls...)
}

type fakeHealth struct{ gc api.GlobalRepoGC }

func (h *fakeHealth) IPFSGC(context.Context, bool) (api.GlobalRepoGC, error) { return h.gc, nil }

// fakeNode holds files (UnixFS by CID) and blocks.
type fakeNode struct {
	files     map[string]string
	paths     map[string]api.Cid
	imported  []api.Cid
	protected []api.Cid
}

func (n *fakeNode) ID(context.Context) (api.IPFSID, error) {
	return api.IPFSID{ID: "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", Addresses: []string{"/ip4/127.0.0.1/tcp/4001"}}, nil
}

func (n *fakeNode) Resolve(_ context.Context, p string) (api.Cid, error) {
	if c, ok := n.paths[p]; ok {
		return c, nil
	}
	return api.CidUndef, fmt.Errorf("%w: no link named %q", api.ErrNotFound, p)
}

func (n *fakeNode) RepoStat(context.Context) (ipfs.RepoStat, error) {
	return ipfs.RepoStat{RepoSize: 100, StorageMax: 1000, FreeSpace: 900, NumObjects: 3}, nil
}

// ImportCARRoots takes "CAR:<root data>,<root data>..." as a CAR with those roots, carrying
// their blocks but for those written "!<root data>"; "CAR:" alone has no root; anything else
// is a bad CAR.
func (n *fakeNode) ImportCARRoots(_ context.Context, r io.Reader) ([]api.Cid, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	data, ok := strings.CutPrefix(string(b), "CAR:")
	if !ok {
		return nil, fmt.Errorf("%w: not a CAR", api.ErrBadCAR)
	}
	var roots []api.Cid
	for _, d := range strings.Split(data, ",") {
		if d == "" {
			continue
		}
		missing := strings.HasPrefix(d, "!")
		c := cidOf(strings.TrimPrefix(d, "!"))
		if !missing {
			n.imported = append(n.imported, c)
		}
		roots = append(roots, c)
	}
	return roots, nil
}

// ProtectRoots records the roots a dag import protected before pinning them.
func (n *fakeNode) ProtectRoots(roots []api.Cid) { n.protected = append(n.protected, roots...) }

// HasBlock: the roots imported with their blocks.
func (n *fakeNode) HasBlock(_ context.Context, c api.Cid) (bool, error) {
	return slices.Contains(n.imported, c), nil
}

func (n *fakeNode) OpenFile(_ context.Context, c api.Cid, offset int64) (io.ReadCloser, int64, error) {
	s, ok := n.files[c.String()]
	if !ok {
		return nil, 0, fmt.Errorf("%w: block %s not found", api.ErrNotFound, c)
	}
	return io.NopCloser(strings.NewReader(s[min(int(offset), len(s)):])), int64(len(s)), nil
}

func (n *fakeNode) GetBlock(_ context.Context, c api.Cid) ([]byte, error) {
	s, ok := n.files[c.String()]
	if !ok {
		return nil, fmt.Errorf("%w: block %s not found", api.ErrNotFound, c)
	}
	return []byte(s), nil
}

func (n *fakeNode) ExportCAR(_ context.Context, c api.Cid, w io.Writer) error {
	s, ok := n.files[c.String()]
	if !ok {
		return fmt.Errorf("%w: block %s not found", api.ErrNotFound, c)
	}
	_, err := io.WriteString(w, "CAR:"+s)
	return err
}

// env is a proxy over fakes.
type env struct {
	pins   *fakePins
	adder  *fakeAdder
	health *fakeHealth
	node   *fakeNode
	srv    *Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pins := newFakePins()
	e := &env{pins: pins, adder: &fakeAdder{pins: pins}, health: &fakeHealth{}, node: &fakeNode{files: map[string]string{}, paths: map[string]api.Cid{}}}
	cfg := DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	srv, err := New(cfg, Deps{Pins: e.pins, Add: e.adder, Health: e.health, Node: e.node, Version: "9.9.9"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	return e
}

func (e *env) file(data string) api.Cid {
	c := cidOf(data)
	e.node.files[c.String()] = data
	return c
}

// do sends a request to the handler and returns the recorder.
func (e *env) do(method, target string, body io.Reader, ctype string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, r)
	return w
}

func (e *env) post(target string) *httptest.ResponseRecorder {
	return e.do(http.MethodPost, target, nil, "")
}

// multipartBody builds a multipart body of files (name, content).
func multipartFiles(files ...string) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		w, _ := mw.CreateFormFile("file", files[i])
		io.WriteString(w, files[i+1])
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// kuboErr decodes a Kubo error body.
func kuboErr(t *testing.T, w *httptest.ResponseRecorder) kuboError {
	t.Helper()
	var e kuboError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("body %q is not a Kubo error: %v", w.Body.String(), err)
	}
	if e.Type != "error" {
		t.Fatalf("error body %q has Type %q", w.Body.String(), e.Type)
	}
	return e
}
