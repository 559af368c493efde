package pinsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	gocid "github.com/ipfs/go-cid"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/rest"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/persistence"
)

// fakePins is a pinset kept in a real store (in memory), so that the request index the
// handlers read is the store's own: every Pin and Unpin is an op applied to it.
type fakePins struct {
	mu     sync.Mutex
	store  *persistence.Store
	origin peer.ID
	seq    uint64
	// fail, when set, is returned by Pin and Unpin.
	fail error
	pins int // Pin calls
	rms  int // Unpin calls
}

func newFakePins(t *testing.T) *fakePins {
	t.Helper()
	s, err := persistence.Open(persistence.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	priv, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &fakePins{store: s, origin: id}
}

func (f *fakePins) apply(op crdt.Op) error {
	f.seq++
	op.Origin, op.Seq, op.Clock = f.origin, f.seq, crdt.HLC(1000+f.seq)
	_, err := f.store.Apply([]crdt.Op{op})
	return err
}

func (f *fakePins) PinRequests(_ context.Context, c api.Cid, opts api.PinOptions) (api.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pins++
	if f.fail != nil {
		return api.Pin{}, f.fail
	}
	opts.ApplyDefaults(-1, -1)
	if err := opts.Validate(); err != nil {
		return api.Pin{}, err
	}
	p := api.NewPin(c, opts)
	p.Timestamp = time.Now().UTC()
	js, err := json.Marshal(p)
	if err != nil {
		return api.Pin{}, err
	}
	return p, f.apply(crdt.Op{Kind: crdt.OpPin, Cid: c, PinJSON: js})
}

func (f *fakePins) Unpin(_ context.Context, c api.Cid) (api.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rms++
	if f.fail != nil {
		return api.Pin{}, f.fail
	}
	p, ok, err := f.store.GetPin(c)
	if err != nil {
		return api.Pin{}, err
	}
	if !ok {
		return api.Pin{}, fmt.Errorf("%w: %s", api.ErrNotFound, c)
	}
	return p, f.apply(crdt.Op{Kind: crdt.OpUnpin, Cid: c})
}

func (f *fakePins) PinGet(_ context.Context, c api.Cid) (api.Pin, error) {
	p, ok, err := f.store.GetPin(c)
	if err != nil {
		return api.Pin{}, err
	}
	if !ok {
		return api.Pin{}, fmt.Errorf("%w: %s", api.ErrNotFound, c)
	}
	return p, nil
}

func (f *fakePins) has(t *testing.T, c api.Cid) (api.Pin, bool) {
	t.Helper()
	p, ok, err := f.store.GetPin(c)
	if err != nil {
		t.Fatal(err)
	}
	return p, ok
}

// storeIndex is the peer's adapter (peer/pinsvc.go) over the fake's store.
type storeIndex struct{ s *persistence.Store }

func (x storeIndex) Requests(ctx context.Context, before time.Time, fn func(RequestRef) error) error {
	return x.s.Requests(ctx, before, func(r persistence.RequestRef) error { return fn(RequestRef(r)) })
}

func (x storeIndex) Request(ctx context.Context, id string) ([]RequestRef, error) {
	refs, err := x.s.Request(ctx, id)
	out := make([]RequestRef, len(refs))
	for i, r := range refs {
		out[i] = RequestRef(r)
	}
	return out, err
}

// fakeStatus answers a status per CID (default: pinned on one peer).
type fakeStatus struct {
	mu      sync.Mutex
	by      map[string]api.TrackerStatus
	err     error
	calls   int // CIDs asked
	batches int // StatusAll calls
}

func (f *fakeStatus) set(c api.Cid, st api.TrackerStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.by == nil {
		f.by = map[string]api.TrackerStatus{}
	}
	f.by[c.String()] = st
}

func (f *fakeStatus) Status(_ context.Context, c api.Cid, _ bool) (api.GlobalPinInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return api.GlobalPinInfo{}, f.err
	}
	st, ok := f.by[c.String()]
	if !ok {
		st = api.TrackerStatusPinned
	}
	g := api.GlobalPinInfo{Cid: c}
	g.Add(api.PinInfo{Cid: c, Peer: "peerA", PinInfoShort: api.PinInfoShort{PeerName: "a", IPFS: testPeerID(1),
		IPFSAddresses: []string{"/ip4/10.0.0.1/tcp/4001", "not an address"}, Status: st}})
	return g, nil
}

func (f *fakeStatus) StatusAll(ctx context.Context, _ api.TrackerStatus, local bool, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	f.mu.Lock()
	f.batches++
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return err
	}
	for _, c := range cids {
		g, err := f.Status(ctx, c, local)
		if err != nil {
			return err
		}
		if err := fn(g); err != nil {
			return err
		}
	}
	return nil
}

// fakeAuth: token "reader" may read, "writer" may read and pin, anything else is refused.
type fakeAuth struct{}

func (fakeAuth) CheckAuth(r *http.Request, perm rest.Permission) (int, string) {
	switch r.Header.Get("Authorization") {
	case "Bearer writer":
		return 0, ""
	case "Bearer reader":
		if perm == rest.PermRead {
			return 0, ""
		}
		return http.StatusForbidden, "this token lacks the pin permission"
	case "":
		return http.StatusUnauthorized, "no credentials"
	}
	return http.StatusUnauthorized, "token revoked"
}

type env struct {
	t      *testing.T
	s      *Server
	pins   *fakePins
	status *fakeStatus
	token  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pins := newFakePins(t)
	st := &fakeStatus{}
	s, err := New(DefaultConfig(), Deps{Pins: pins, Status: st, Index: storeIndex{pins.store}, Auth: fakeAuth{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, s: s, pins: pins, status: st, token: "writer"}
}

// do sends a request and returns the status and body.
func (e *env) do(method, target string, body any) (int, []byte) {
	e.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		js, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req := httptest.NewRequest(method, target, rd)
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	w := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(w, req)
	return w.Code, w.Body.Bytes()
}

func (e *env) add(p Pin) PinStatus {
	e.t.Helper()
	code, body := e.do("POST", "/pins", p)
	if code != http.StatusAccepted {
		e.t.Fatalf("POST /pins %+v: %d %s", p, code, body)
	}
	var ps PinStatus
	if err := json.Unmarshal(body, &ps); err != nil {
		e.t.Fatal(err)
	}
	return ps
}

func (e *env) list(query string) PinResults {
	e.t.Helper()
	code, body := e.do("GET", "/pins"+query, nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET /pins%s: %d %s", query, code, body)
	}
	var res PinResults
	if err := json.Unmarshal(body, &res); err != nil {
		e.t.Fatal(err)
	}
	return res
}

func mkCid(t testing.TB, i int) api.Cid {
	t.Helper()
	h, err := mh.Sum([]byte(fmt.Sprint("pinsvc test ", i)), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.DagProtobuf, h))
}

func failure(t *testing.T, body []byte) FailureError {
	t.Helper()
	var f Failure
	if err := json.Unmarshal(body, &f); err != nil || f.Error.Reason == "" {
		t.Fatalf("not a Failure body: %s (%v)", body, err)
	}
	return f.Error
}

func ids(res PinResults) string {
	var out []string
	for _, r := range res.Results {
		out = append(out, r.Pin.Name)
	}
	return strings.Join(out, ",")
}

// testPeerID is a valid peer ID made from seed.
func testPeerID(seed byte) string {
	priv, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		panic(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		panic(err)
	}
	return id.String()
}
