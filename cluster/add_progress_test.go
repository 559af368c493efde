package cluster

import (
	"log/slog"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/blockpush"
)

// TestPushReporter: a push's progress reaches the client as IPFS Cluster's progress lines
// (no CID, the peer as the one allocation), once per step and peer; only when asked for.
func TestPushReporter(t *testing.T) {
	s := &AddService{d: Deps{Log: slog.New(slog.DiscardHandler)}}
	a, b := peer.ID("A"), peer.ID("B")
	feed := func(steps int, lines bool) []api.AddedOutput {
		var got []api.AddedOutput
		r := s.pushReporter("root", 2000, steps, lines, func(o api.AddedOutput) { got = append(got, o) })
		for i := 1; i <= 20; i++ {
			r(blockpush.Progress{Peer: a, Blocks: i, Total: 20, Bytes: uint64(i * 100)})
			r(blockpush.Progress{Peer: b, Blocks: i, Total: 20, Bytes: uint64(i * 100)})
		}
		return got
	}
	got := feed(10, true)
	if len(got) != 22 { // steps 0 (the push started) to 10, per peer
		t.Fatalf("%d lines for two peers in ten steps, want 22", len(got))
	}
	for _, o := range got {
		if o.Cid.Defined() || len(o.Allocations) != 1 || o.Size != 2000 || o.Name != "root" {
			t.Fatalf("progress line %+v", o)
		}
	}
	last := got[len(got)-1]
	if last.Bytes != 2000 || last.Allocations[0] != b {
		t.Fatalf("last line %+v, want peer B done", last)
	}
	if got := feed(1, true); len(got) != 2 || got[0].Bytes != 2000 {
		t.Fatalf("one step: lines %+v, want one per peer at the end", got)
	}
	if got := feed(10, false); len(got) != 0 {
		t.Fatalf("%d lines without progress asked for", len(got))
	}
}
