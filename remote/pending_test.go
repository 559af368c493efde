package remote

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestPendingTable(t *testing.T) {
	var tbl pendingTable
	p1, p2 := peer.ID("p1"), peer.ID("p2")
	ep1, ep1b, ep2 := &endpoint{peer: p1}, &endpoint{peer: p1}, &endpoint{peer: p2}
	s := actor.NewPID("me", "s")

	tbl.add(ep1, s)
	tbl.add(ep1, s)
	tbl.add(ep2, s)
	if n := tbl.len(); n != 3 {
		t.Fatalf("len = %d, want 3", n)
	}
	tbl.answered(p1, "s")
	tbl.answered(p1, "other") // not ours: ignored
	if n := tbl.len(); n != 2 {
		t.Fatalf("after a reply: len = %d, want 2", n)
	}
	if tbl.undo(ep1b, s) {
		t.Fatal("undo on an endpoint that did not carry the request succeeded")
	}
	got := tbl.takeEndpoint(ep1)
	if len(got) != 1 || got[0].n != 1 {
		t.Fatalf("takeEndpoint = %+v, want one request", got)
	}
	tbl.expire(time.Now().Add(time.Second))
	if n := tbl.len(); n != 0 {
		t.Fatalf("after expire: len = %d, want 0", n)
	}
}
