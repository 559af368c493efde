package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

func TestWaitFor(t *testing.T) {
	// The status answers pinning twice, then pinned on one peer and pinning on the other.
	var calls atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		st := "pinning"
		if n >= 3 {
			st = "pinned"
		}
		io.WriteString(w, `{"cid":"`+testCid+`","peer_map":{"A":{"peername":"a","status":"`+st+`"},"B":{"peername":"b","status":"pinning"},"C":{"status":"remote"}}}`)
	}), Config{})
	ci := mustCid(t, testCid)
	gpi, err := c.WaitFor(context.Background(), ci, api.TrackerStatusPinned, 1, time.Millisecond)
	if err != nil || gpi.PeerMap["A"].Status != api.TrackerStatusPinned {
		t.Fatalf("got %v, %v", gpi, err)
	}
	// All allocated peers (A, B) never get there: the deadline ends it.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.WaitFor(ctx, ci, api.TrackerStatusPinned, 0, time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("all peers: got %v", err)
	}
}

func TestWaitForErrorsAndUnpin(t *testing.T) {
	// A wait cut by its deadline may leave a request in flight: the answer is set under mu.
	var mu sync.Mutex
	body := `{"cid":"` + testCid + `","peer_map":{"A":{"peername":"a","status":"pin_error","error":"disk full"}}}`
	status := 200
	answer := func(st int, b string) {
		mu.Lock()
		defer mu.Unlock()
		status, body = st, b
	}
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st, b := status, body
		mu.Unlock()
		w.WriteHeader(st)
		io.WriteString(w, b)
	}), Config{})
	ci := mustCid(t, testCid)
	_, err := c.WaitFor(context.Background(), ci, api.TrackerStatusPinned, 0, time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "a: disk full") {
		t.Fatalf("error status: got %v", err)
	}
	// One of two allocated peers failed: waiting for two cannot succeed, waiting for one goes on.
	answer(200, `{"cid":"`+testCid+`","peer_map":{"A":{"peername":"a","status":"pin_error","error":"disk full"},"B":{"peername":"b","status":"pinning"}}}`)
	if _, err := c.WaitFor(context.Background(), ci, api.TrackerStatusPinned, 2, time.Millisecond); err == nil || !strings.Contains(err.Error(), "failed on 1 of its 2 allocated peers (a: disk full)") {
		t.Fatalf("too few peers left: got %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.WaitFor(ctx, ci, api.TrackerStatusPinned, 1, time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("one peer left for one: got %v", err)
	}
	answer(404, `{"code":404,"message":"not found"}`)
	if _, err := c.WaitFor(context.Background(), ci, api.TrackerStatusUnpinned, 0, time.Millisecond); err != nil {
		t.Fatalf("unpin 404: %v", err)
	}
	answer(200, `{"cid":"`+testCid+`","peer_map":{"A":{"status":"unpinned"},"B":{"status":"remote"},"C":{"status":"cluster_error"}}}`)
	if _, err := c.WaitFor(context.Background(), ci, api.TrackerStatusUnpinned, 0, time.Millisecond); err != nil {
		t.Fatalf("unpinned: %v", err)
	}
}

func FuzzDecodeStream(f *testing.F) {
	f.Add([]byte(`{"cid":"` + testCid + `"}` + "\n"))
	f.Add([]byte(`[{"peer_map":{"a":{"status":"pinned"}}}]`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		_ = decodeStream(strings.NewReader(string(b)), func(api.GlobalPinInfo) error {
			n++
			if n > len(b) {
				t.Fatalf("more items (%d) than bytes", n)
			}
			return nil
		})
	})
}
