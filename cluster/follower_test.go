package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// TestFollowerRefusesWrites: on a follower, pin, path pins, unpin, pin update, add and peers
// rm fail with a forbidden error saying it is a follower, and nothing is allocated, stored or
// announced; reads still answer.
func TestFollowerRefusesWrites(t *testing.T) {
	ctx := context.Background()
	other := testPeer(t)
	w := newWorld(t, other)
	pinned := api.NewPin(testCid(t, "kept"), api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	w.store.put(t, pinned)
	d := w.svc.PinService.d
	d.Config.Follower = true
	svc, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	c := testCid(t, "new")
	calls := map[string]func() error{
		"pin":        func() error { _, err := svc.Pin(ctx, c, api.PinOptions{}); return err },
		"pin path":   func() error { _, err := svc.PinPath(ctx, "/ipfs/"+c.String(), api.PinOptions{}); return err },
		"unpin":      func() error { _, err := svc.Unpin(ctx, pinned.Cid); return err },
		"unpin path": func() error { _, err := svc.UnpinPath(ctx, "/ipfs/"+pinned.Cid.String()); return err },
		"pin update": func() error { _, err := svc.Pin(ctx, c, api.PinOptions{PinUpdate: pinned.Cid}); return err },
		"add":        func() error { _, err := svc.Add(ctx, nil, strings.NewReader("x"), api.AddParams{}, nil); return err },
		"peers rm":   func() error { return svc.PeerRemove(ctx, other) },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, api.ErrForbidden) || !strings.Contains(err.Error(), "this peer is a follower") {
			t.Errorf("%s on a follower: err = %v, want forbidden, saying it is a follower", name, err)
		}
	}
	if len(w.commits.changes) != 0 || w.alloc.calls != 0 || w.remote.calls != 0 {
		t.Fatalf("refused writes stored %d changes, allocated %d times, called %d peers", len(w.commits.changes), w.alloc.calls, w.remote.calls)
	}
	if got, err := svc.PinGet(ctx, pinned.Cid); err != nil || got.Cid != pinned.Cid {
		t.Fatalf("pin ls on a follower: %+v, %v", got, err)
	}
	if err := svc.Config().Refuse("x"); err == nil {
		t.Fatal("Config().Refuse on a follower: nil")
	}
	if err := w.svc.Config().Refuse("x"); err != nil {
		t.Fatalf("Config().Refuse on a trusted peer: %v", err)
	}
}
