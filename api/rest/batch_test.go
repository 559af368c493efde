package rest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ingest"
	"github.com/pincluster/pincluster/messages"
)

// batchCluster is the fake cluster plus a real ingest service over an in-memory pinset.
type batchCluster struct {
	*fakeCluster
	svc   *ingest.Service
	store *memPinset
}

func (b *batchCluster) Ingest(ctx context.Context, body io.Reader, op api.BatchOp, defaults api.PinOptions, emit func(api.BatchEvent) error) (api.BatchEvent, error) {
	return b.svc.Run(ctx, body, ingest.Request{Op: op, Defaults: defaults}, emit)
}

// memPinset is ingest.Deps over a map. commitGate, when set, is received from before each
// commit (the test paces commits).
type memPinset struct {
	mu         sync.Mutex
	pins       map[string]api.Pin
	commitGate chan struct{}
}

func (m *memPinset) Snapshot() ingest.Snapshot { return m }

func (m *memPinset) Discard() {}

func (m *memPinset) GetPins(cids []api.Cid) ([]api.Pin, []bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pins, found := make([]api.Pin, len(cids)), make([]bool, len(cids))
	for i, c := range cids {
		pins[i], found[i] = m.pins[c.String()]
	}
	return pins, found, nil
}

func (m *memPinset) Allocate(_ context.Context, reqs []ingest.AllocRequest) ([][]peer.ID, []error, error) {
	return make([][]peer.ID, len(reqs)), nil, nil
}

func (m *memPinset) Admit(context.Context, int) error      { return nil }
func (m *memPinset) Flush(context.Context) error           { return nil }
func (m *memPinset) Replicated(context.Context) (int, int) { return 1, 1 }

func (m *memPinset) Commit(ctx context.Context, changes []messages.Change) error {
	if m.commitGate != nil {
		select {
		case <-m.commitGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ch := range changes {
		m.pins[ch.Pin.Cid.String()] = ch.Pin
	}
	return nil
}

func (m *memPinset) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pins)
}

func newBatchServer(t testing.TB, mut func(*Config)) (*Server, *memPinset) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	if mut != nil {
		mut(&cfg)
	}
	store := &memPinset{pins: map[string]api.Pin{}}
	cl := &batchCluster{fakeCluster: newFake(t), store: store,
		svc: ingest.New(store, ingest.Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})}
	svc := cl.services()
	svc.Ingest = cl
	s, err := NewServer(cfg, svc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s, store
}

func batchEvents(t testing.TB, resp *http.Response) []api.BatchEvent {
	t.Helper()
	var evs []api.BatchEvent
	for _, l := range lines(t, resp, 200) {
		var ev api.BatchEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("event %q: %v", l, err)
		}
		evs = append(evs, ev)
	}
	if tr := resp.Trailer.Get(streamErrorTrailer); tr != "" {
		t.Fatalf("stream error: %s", tr)
	}
	return evs
}

func TestBatchBadLinesAndLongLine(t *testing.T) {
	s, store := newBatchServer(t, nil)
	good := []string{testCid("a").String(), testCid("b").String(), testCid("c").String()}
	body := good[0] + "\nnot-a-cid\n" + strings.Repeat("x", 70<<10) + "\n" + good[1] +
		"\n{\"cid\":\"" + good[2] + "\",\"colour\":\"red\"}\n{\"cid\":\"" + good[2] + "\",\"name\":\"n\"}\n"
	evs := batchEvents(t, do(t, s.Handler(), "POST", "/pins/batch?replication-min=1&replication-max=2", strings.NewReader(body)))
	var failed []int
	for _, ev := range evs {
		if ev.Line > 0 {
			failed = append(failed, ev.Line)
			if ev.Error == "" || len(ev.Input) > 300 {
				t.Errorf("line %d: error %q, input of %d bytes", ev.Line, ev.Error, len(ev.Input))
			}
		}
	}
	if fmt.Sprint(failed) != "[2 3 5]" {
		t.Fatalf("failed lines %v, want [2 3 5]", failed)
	}
	last := evs[len(evs)-1]
	if !last.Done || last.OK != 3 || last.Failed != 3 {
		t.Fatalf("last event %+v", last)
	}
	if store.count() != 3 {
		t.Fatalf("%d pins stored", store.count())
	}
	p := store.pins[good[2]]
	if p.Name != "n" || p.ReplicationFactorMin != 1 || p.ReplicationFactorMax != 2 {
		t.Fatalf("query options not applied under the line's own: %+v", p.PinOptions)
	}
}

func TestBatchBadQueryAndOp(t *testing.T) {
	s, store := newBatchServer(t, nil)
	wantError(t, do(t, s.Handler(), "POST", "/pins/batch?op=shred", strings.NewReader("x\n")), 400, "op=")
	wantError(t, do(t, s.Handler(), "POST", "/pins/batch?replication-min=3&replication-max=1", strings.NewReader(testCid("a").String())), 400, "replication-min")
	if store.count() != 0 {
		t.Fatal("a refused batch stored pins")
	}
}

func TestBatchUnpin(t *testing.T) {
	s, store := newBatchServer(t, nil)
	c := testCid("a").String()
	batchEvents(t, do(t, s.Handler(), "POST", "/pins/batch", strings.NewReader(c+"\n")))
	evs := batchEvents(t, do(t, s.Handler(), "POST", "/pins/batch?op=unpin", strings.NewReader(c+"\n"+testCid("b").String()+"\n")))
	if last := evs[len(evs)-1]; !last.Done || last.OK != 2 || last.Unchanged != 1 {
		t.Fatalf("unpin summary %+v", last)
	}
	_ = store
}

func TestBatchNeedsPinPermission(t *testing.T) {
	s, store := newBatchServer(t, func(c *Config) {
		c.BasicAuthCredentials = map[string]string{"bob": "bobpw", "carol": "carolpw"}
		c.BasicAuthPermissions = map[string][]string{"bob": {"read"}, "carol": {"read", "pin"}}
	})
	body := testCid("a").String() + "\n"
	wantError(t, do(t, s.Handler(), "POST", "/pins/batch", strings.NewReader(body)), 401, "credentials")
	wantError(t, do(t, s.Handler(), "POST", "/pins/batch", strings.NewReader(body), "Authorization", basic("bob", "bobpw")), 403, `"pin"`)
	if store.count() != 0 {
		t.Fatal("a refused batch stored pins")
	}
	batchEvents(t, do(t, s.Handler(), "POST", "/pins/batch", strings.NewReader(body), "Authorization", basic("carol", "carolpw")))
	if store.count() != 1 {
		t.Fatal("carol's batch was not stored")
	}
}

// A client that goes away mid-stream keeps every line acknowledged before: the acks it read
// name lines that are stored, and the run stops.
func TestBatchDroppedConnectionKeepsAckedLines(t *testing.T) {
	s, store := newBatchServer(t, nil)
	store.commitGate = make(chan struct{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/pins/batch", pr)
	all := make([]string, 3*ingest.ChunkLines)
	for i := range all {
		all[i] = testCid(fmt.Sprint(i)).String()
	}
	go func() {
		// Three chunks, then the body stays open: the client is still "sending".
		for _, c := range all {
			if _, err := io.WriteString(pw, c+"\n"); err != nil {
				return
			}
		}
	}()
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		done <- result{resp, err}
	}()
	select {
	case store.commitGate <- struct{}{}: // let the first chunk commit
	case <-timeout(t):
		t.Fatal("no commit")
	}
	var r result
	select {
	case r = <-done:
	case <-timeout(t):
		t.Fatal("no answer")
	}
	resp, err := r.resp, r.err
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var ev api.BatchEvent
	// The first commit's lines: a whole chunk, or fewer when the reader handed on what it had
	// before waiting for more of the body (ingest.readChunks).
	if err := json.Unmarshal(line, &ev); err != nil || ev.OK < 1 || ev.OK > ingest.ChunkLines || ev.Through != ev.OK {
		t.Fatalf("first event %s (%v), want the first commit's lines acknowledged", line, err)
	}
	// Drop the connection while the second chunk waits to commit.
	cancel()
	pw.CloseWithError(io.ErrUnexpectedEOF)
	resp.Body.Close()
	// Let any commit through and wait for the handler to end: the server notices the client
	// is gone and stops.
	close(store.commitGate)
	srv.Close()
	store.mu.Lock()
	defer store.mu.Unlock()
	// Whole commits in input order: a prefix of the file, at least what was acknowledged.
	n := len(store.pins)
	if n < ev.OK || n > 3*ingest.ChunkLines {
		t.Fatalf("%d pins stored, want at least the %d acknowledged", n, ev.OK)
	}
	for _, c := range all[:n] {
		if _, ok := store.pins[c]; !ok {
			t.Fatalf("%d pins stored but not the first %d lines: %s is missing", n, n, c)
		}
	}
}
