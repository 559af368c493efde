package rest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"sync"
	"testing"

	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
	"github.com/pincluster/pincluster/api"
)

// call is one recorded service call.
type call struct {
	Method string
	Args   []any
}

// fakeCluster implements every service interface of the server (cluster.go): it records calls
// and serves canned answers. Streams yield nItems items and, when failAt >= 0, fail with
// streamErr after failAt items. Tests that change one concern replace that field of services().
type fakeCluster struct {
	mu    sync.Mutex
	calls []call

	err       error // returned by every non-stream method when set
	nItems    int
	failAt    int
	streamErr error
	pins      map[api.Cid]api.Pin
	self      peer.ID
	// addFn replaces the default Add (which reads every file and reports it).
	addFn func(ctx context.Context, mr *multipart.Reader, car io.Reader, p api.AddParams, out func(api.AddedOutput)) (api.Cid, error)
}

var (
	_ Pins       = (*fakeCluster)(nil)
	_ PinStatus  = (*fakeCluster)(nil)
	_ Membership = (*fakeCluster)(nil)
	_ Health     = (*fakeCluster)(nil)
	_ Adder      = (*fakeCluster)(nil)
	_ Ingester   = (*fakeCluster)(nil)
)

// services hands f to the server for every concern.
func (f *fakeCluster) services() Services {
	return Services{Pins: f, Status: f, Peers: f, Health: f, Add: f, Ingest: f}
}

func newFake(t testing.TB) *fakeCluster {
	return &fakeCluster{failAt: -1, pins: map[api.Cid]api.Pin{}, self: testPeer(t)}
}

func (f *fakeCluster) record(method string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{method, args})
}

// lastCall returns the last recorded call of method, failing the test if there is none.
func (f *fakeCluster) lastCall(t testing.TB, method string) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].Method == method {
			return f.calls[i]
		}
	}
	t.Fatalf("no call to %s (calls: %v)", method, f.calls)
	return call{}
}

func (f *fakeCluster) called(method string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.Method == method {
			return true
		}
	}
	return false
}

// stream calls fn nItems times with item(i), failing at failAt.
func (f *fakeCluster) stream(ctx context.Context, fn func(i int) error) error {
	if f.err != nil {
		return f.err
	}
	for i := 0; i < f.nItems; i++ {
		if i == f.failAt {
			return f.streamErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(i); err != nil {
			return err
		}
	}
	if f.failAt >= f.nItems {
		return f.streamErr
	}
	return nil
}

func (f *fakeCluster) ID(ctx context.Context) api.ID {
	f.record("ID")
	return api.ID{ID: f.self, Peername: "fake", Version: "0.0.1"}
}

func (f *fakeCluster) Version() api.Version {
	f.record("Version")
	return api.Version{Version: "0.0.1"}
}

func (f *fakeCluster) Peers(ctx context.Context, fn func(api.ID) error) error {
	f.record("Peers")
	return f.stream(ctx, func(i int) error { return fn(api.ID{ID: f.self, Peername: fmt.Sprintf("peer%d", i)}) })
}

func (f *fakeCluster) PeerRemove(ctx context.Context, id peer.ID) error {
	f.record("PeerRemove", id)
	return f.err
}

func (f *fakeCluster) Pin(ctx context.Context, c api.Cid, opts api.PinOptions) (api.Pin, error) {
	f.record("Pin", c, opts)
	if f.err != nil {
		return api.Pin{}, f.err
	}
	p := api.NewPin(c, opts)
	f.mu.Lock()
	f.pins[c] = p
	f.mu.Unlock()
	return p, nil
}

func (f *fakeCluster) PinPath(ctx context.Context, path string, opts api.PinOptions) (api.Pin, error) {
	f.record("PinPath", path, opts)
	if f.err != nil {
		return api.Pin{}, f.err
	}
	return api.NewPin(testCid(path), opts), nil
}

func (f *fakeCluster) Unpin(ctx context.Context, c api.Cid) (api.Pin, error) {
	f.record("Unpin", c)
	if f.err != nil {
		return api.Pin{}, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c]
	if !ok {
		return api.Pin{}, fmt.Errorf("%w: %s is not pinned", api.ErrNotFound, c)
	}
	delete(f.pins, c)
	return p, nil
}

func (f *fakeCluster) UnpinPath(ctx context.Context, path string) (api.Pin, error) {
	f.record("UnpinPath", path)
	if f.err != nil {
		return api.Pin{}, f.err
	}
	return api.NewPin(testCid(path), api.PinOptions{}), nil
}

func (f *fakeCluster) PinGet(ctx context.Context, c api.Cid) (api.Pin, error) {
	f.record("PinGet", c)
	if f.err != nil {
		return api.Pin{}, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c]
	if !ok {
		return api.Pin{}, fmt.Errorf("%w: %s is not in the pinset", api.ErrNotFound, c)
	}
	return p, nil
}

func (f *fakeCluster) Count(ctx context.Context) (int, error) {
	f.record("Count")
	if f.err != nil {
		return 0, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pins), nil
}

func (f *fakeCluster) PinsJSON(ctx context.Context, fn func([]byte) error) error {
	f.record("PinsJSON")
	return f.stream(ctx, func(i int) error {
		b, _ := json.Marshal(api.NewPin(testCid(fmt.Sprint(i)), api.PinOptions{Name: fmt.Sprint(i)}))
		return fn(b)
	})
}

func (f *fakeCluster) FindPinsJSON(ctx context.Context, q api.PinQuery, fn func([]byte) error) error {
	f.record("FindPinsJSON")
	return f.PinsJSON(ctx, func(b []byte) error {
		if ok, err := q.MatchesJSON(b); err != nil || !ok {
			return err
		}
		return fn(b)
	})
}

func (f *fakeCluster) gpi(c api.Cid, name string) api.GlobalPinInfo {
	return api.GlobalPinInfo{Cid: c, Name: name, PeerMap: map[string]api.PinInfoShort{
		f.self.String(): {PeerName: "fake", Status: api.TrackerStatusPinned},
	}}
}

func (f *fakeCluster) Status(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error) {
	f.record("Status", c, local)
	if f.err != nil {
		return api.GlobalPinInfo{}, f.err
	}
	return f.gpi(c, ""), nil
}

func (f *fakeCluster) StatusAll(ctx context.Context, filter api.TrackerStatus, local bool, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	f.record("StatusAll", filter, local, cids)
	return f.stream(ctx, func(i int) error { return fn(f.gpi(testCid(fmt.Sprint(i)), fmt.Sprint(i))) })
}

// Ingest counts the body's lines as accepted.
func (f *fakeCluster) Ingest(ctx context.Context, body io.Reader, op api.BatchOp, defaults api.PinOptions, emit func(api.BatchEvent) error) (api.BatchEvent, error) {
	f.record("Ingest", op, defaults)
	b, err := io.ReadAll(body)
	if err != nil {
		return api.BatchEvent{}, err
	}
	n := bytes.Count(b, []byte("\n"))
	done := api.BatchEvent{OK: n, Through: n, Done: true}
	return done, emit(done)
}

func (f *fakeCluster) StatusLocalJSON(ctx context.Context, filter api.TrackerStatus, fn func([]byte) error) error {
	f.record("StatusLocalJSON", filter)
	return f.stream(ctx, func(i int) error {
		b, err := json.Marshal(f.gpi(testCid(fmt.Sprint(i)), fmt.Sprint(i)))
		if err != nil {
			return err
		}
		return fn(b)
	})
}

func (f *fakeCluster) Recover(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error) {
	f.record("Recover", c, local)
	if f.err != nil {
		return api.GlobalPinInfo{}, f.err
	}
	return f.gpi(c, ""), nil
}

func (f *fakeCluster) RecoverAll(ctx context.Context, local bool, fn func(api.GlobalPinInfo) error) error {
	f.record("RecoverAll", local)
	return f.stream(ctx, func(i int) error { return fn(f.gpi(testCid(fmt.Sprint(i)), fmt.Sprint(i))) })
}

func (f *fakeCluster) IPFSGC(ctx context.Context, local bool) (api.GlobalRepoGC, error) {
	f.record("IPFSGC", local)
	if f.err != nil {
		return api.GlobalRepoGC{}, f.err
	}
	return api.GlobalRepoGC{PeerMap: map[string]api.IPFSRepoGC{f.self.String(): {Peer: f.self, Keys: []string{"k"}}}}, nil
}

// Add reads the files of a multipart body (or the CAR bytes) and reports each file, with a
// progress line first, then the root.
func (f *fakeCluster) Add(ctx context.Context, mr *multipart.Reader, car io.Reader, p api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
	f.record("Add", mr != nil, car != nil, p)
	if f.addFn != nil {
		return f.addFn(ctx, mr, car, p, out)
	}
	if f.err != nil {
		return api.CidUndef, f.err
	}
	if car != nil {
		b, err := io.ReadAll(car)
		if err != nil {
			return api.CidUndef, err
		}
		root := testCid(string(b))
		out(api.AddedOutput{Name: "car", Bytes: uint64(len(b))})
		out(api.AddedOutput{Name: root.String(), Cid: root, Size: uint64(len(b))})
		return root, nil
	}
	var root api.Cid
	n := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return api.CidUndef, fmt.Errorf("%w: bad multipart: %v", api.ErrInvalid, err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return api.CidUndef, err
		}
		n++
		c := testCid(part.FileName() + string(b))
		out(api.AddedOutput{Name: part.FileName(), Bytes: uint64(len(b))})
		out(api.AddedOutput{Name: part.FileName(), Cid: c, Size: uint64(len(b))})
		root = c
	}
	if n == 0 {
		return api.CidUndef, fmt.Errorf("%w: nothing to add", api.ErrInvalid)
	}
	return root, nil
}

func (f *fakeCluster) Metrics(ctx context.Context, name string) ([]api.Metric, error) {
	f.record("Metrics", name)
	if f.err != nil {
		return nil, f.err
	}
	if name == "none" {
		return nil, nil
	}
	return []api.Metric{{Name: name, Peer: f.self, Value: "1", Valid: true}}, nil
}

func (f *fakeCluster) MetricNames(ctx context.Context) ([]string, error) {
	f.record("MetricNames")
	return []string{"freespace", "ping"}, f.err
}

func (f *fakeCluster) Alerts(ctx context.Context) ([]api.Alert, error) {
	f.record("Alerts")
	return nil, f.err
}

func (f *fakeCluster) ConnectGraph(ctx context.Context) (api.ConnectGraph, error) {
	f.record("ConnectGraph")
	return api.ConnectGraph{ClusterID: f.self}, f.err
}

// testCid is a CIDv1 raw of s's sha2-256.
func testCid(s string) api.Cid {
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

var (
	peerOnce sync.Once
	peerID   peer.ID
)

func testPeer(t testing.TB) peer.ID {
	peerOnce.Do(func() {
		_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		peerID, err = peer.IDFromPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
	})
	return peerID
}
