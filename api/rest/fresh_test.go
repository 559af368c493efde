package rest

import (
	"context"
	"net/http"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// freshCluster is the fake with the fan-out status (FreshStatus).
type freshCluster struct{ *fakeCluster }

func (f freshCluster) StatusFresh(ctx context.Context, c api.Cid) (api.GlobalPinInfo, error) {
	f.record("StatusFresh", c)
	return f.gpi(c, ""), nil
}

func (f freshCluster) StatusAllFresh(ctx context.Context, filter api.TrackerStatus, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	f.record("StatusAllFresh", filter, cids)
	return fn(f.gpi(testCid("fresh"), "fresh"))
}

// TestStatusFreshParam: ?fresh=true takes the fan-out path of GET /pins and GET /pins/{cid};
// without it the default (replica) path answers; fresh with local, or a bad value, is a 400.
func TestStatusFreshParam(t *testing.T) {
	f := newFake(t)
	svc := f.services()
	svc.Status = freshCluster{f}
	s, err := NewServer(DefaultConfig(), svc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	c := testCid("x")
	for _, tc := range []struct{ target, method string }{
		{"/pins?fresh=true", "StatusAllFresh"},
		{"/pins?fresh=true&filter=error", "StatusAllFresh"},
		{"/pins", "StatusAll"},
		{"/pins/" + c.String() + "?fresh=true", "StatusFresh"},
		{"/pins/" + c.String(), "Status"},
	} {
		resp := do(t, h, http.MethodGet, tc.target, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", tc.target, resp.StatusCode)
		}
		f.lastCall(t, tc.method)
		f.mu.Lock()
		last := f.calls[len(f.calls)-1].Method
		f.mu.Unlock()
		if last != tc.method {
			t.Fatalf("%s answered by %s, want %s", tc.target, last, tc.method)
		}
	}
	wantError(t, do(t, h, http.MethodGet, "/pins?fresh=true&local=true", nil), http.StatusBadRequest, "exclude")
	wantError(t, do(t, h, http.MethodGet, "/pins/"+c.String()+"?fresh=maybe", nil), http.StatusBadRequest, "fresh")
}
