package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// Global status merges every member's answer; a member that fails, answers the wrong count or
// is allocated without being a member shows cluster_error with the reason.
func TestStatusFanOut(t *testing.T) {
	good, bad, short := testPeer(t), testPeer(t), testPeer(t)
	gone := testPeer(t) // allocated, not a member
	w := newWorld(t, good, bad, short)
	w.remote.answer = func(to peer.ID, msg any) (any, error) {
		req, ok := msg.(*messages.StatusRequest)
		if !ok {
			return nil, errors.New("unexpected request")
		}
		switch to {
		case bad:
			return nil, errors.New("peer unreachable")
		case short:
			return &messages.StatusResponse{Infos: []api.PinInfo{}}, nil
		}
		resp := &messages.StatusResponse{}
		for range req.Cids {
			resp.Infos = append(resp.Infos, api.PinInfo{PinInfoShort: api.PinInfoShort{Status: api.TrackerStatusPinned}})
		}
		return resp, nil
	}
	c := testCid(t, "x")
	p := api.NewPin(c, api.PinOptions{})
	p.Allocations = []peer.ID{w.self, good, gone}
	w.store.put(t, p)
	w.tracker.pinned[c.KeyString()] = true
	g, err := w.svc.Status(context.Background(), c, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[peer.ID]api.TrackerStatus{w.self: api.TrackerStatusPinned, good: api.TrackerStatusPinned,
		bad: api.TrackerStatusClusterError, short: api.TrackerStatusClusterError, gone: api.TrackerStatusClusterError}
	if len(g.PeerMap) != len(want) {
		t.Fatalf("peer map %v, want %d entries", g.PeerMap, len(want))
	}
	for id, st := range want {
		got := g.PeerMap[id.String()]
		if got.Status != st || (st == api.TrackerStatusClusterError && got.Error == "") {
			t.Errorf("%s: %+v, want %v with a reason", id, got, st)
		}
	}
	if w.remote.calls != 3 {
		t.Errorf("%d requests, want one per other member (3)", w.remote.calls)
	}

	// Local status asks nobody.
	w.remote.calls = 0
	if _, err := w.svc.Status(context.Background(), c, true); err != nil || w.remote.calls != 0 {
		t.Fatalf("local status: %v, %d requests", err, w.remote.calls)
	}
}

// Recover asks only the allocated members, and shows the failures.
func TestRecoverAsksAllocatedMembers(t *testing.T) {
	alloc, notAlloc := testPeer(t), testPeer(t)
	w := newWorld(t, alloc, notAlloc)
	asked := map[peer.ID]bool{}
	w.remote.answer = func(to peer.ID, msg any) (any, error) {
		asked[to] = true
		return nil, errors.New("boom")
	}
	c := testCid(t, "r")
	p := api.NewPin(c, api.PinOptions{})
	p.Allocations = []peer.ID{w.self, alloc}
	w.store.put(t, p)
	g, err := w.svc.Recover(context.Background(), c, false)
	if err != nil {
		t.Fatal(err)
	}
	if !asked[alloc] || asked[notAlloc] {
		t.Fatalf("asked %v, want only %s", asked, alloc)
	}
	if st := g.PeerMap[alloc.String()]; st.Status != api.TrackerStatusClusterError || st.Error != "boom" {
		t.Fatalf("allocated member: %+v", st)
	}
}

// recover and ipfs gc that every other member refuses (this peer is not in their
// trusted_peers) answer ErrForbidden (HTTP 403), not a success made of errors; one member
// that answers is enough for the usual answer.
func TestRefusedByEveryMemberIsForbidden(t *testing.T) {
	a, b := testPeer(t), testPeer(t)
	w := newWorld(t, a, b)
	refuse := map[peer.ID]bool{a: true, b: true}
	w.remote.answer = func(to peer.ID, msg any) (any, error) {
		if refuse[to] {
			return nil, fmt.Errorf("%w: needs a trusted peer", api.ErrForbidden)
		}
		switch msg.(type) {
		case *messages.GCRequest:
			return &messages.GCResponse{Result: api.IPFSRepoGC{Peer: to}}, nil
		default:
			return &messages.StatusResponse{}, nil
		}
	}
	c := testCid(t, "f")
	w.store.put(t, api.NewPin(c, api.PinOptions{}))
	ctx := context.Background()
	if _, err := w.svc.Recover(ctx, c, false); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("recover refused by all: %v", err)
	}
	if err := w.svc.RecoverAll(ctx, false, func(api.GlobalPinInfo) error { return nil }); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("recover all refused by all: %v", err)
	}
	if _, err := w.svc.IPFSGC(ctx, false); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("gc refused by all: %v", err)
	}
	refuse[b] = false
	if _, err := w.svc.IPFSGC(ctx, false); err != nil {
		t.Fatalf("gc answered by one: %v", err)
	}
	// Answered by one: the other is named once the outcomes are streamed, not left out silently.
	if err := w.svc.RecoverAll(ctx, false, func(api.GlobalPinInfo) error { return nil }); !errors.Is(err, api.ErrUnavailable) ||
		!strings.Contains(err.Error(), "1 of 2 other peers could not recover their items: "+a.String()) {
		t.Fatalf("recover all answered by one: %v", err)
	}
}
