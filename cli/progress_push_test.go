package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// TestProgressShowsEachPeersPush: a push's progress line names the peer on the bar while it
// runs and prints a line when the peer holds everything.
func TestProgressShowsEachPeersPush(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, nil, false, false)
	to := peer.ID("peer-1234567890")
	p.pushed(api.AddedOutput{Name: "QmRoot", Bytes: 512, Size: 2048, Allocations: []peer.ID{to}})
	p.pushed(api.AddedOutput{Name: "QmRoot", Bytes: 2048, Size: 2048, Allocations: []peer.ID{to}})
	if out := buf.String(); !strings.Contains(out, "pushed QmRoot (2.0 KiB) to "+to.String()) {
		t.Fatalf("output %q does not report the finished push", out)
	}
	var none *progress
	none.pushed(api.AddedOutput{Name: "x", Bytes: 1, Size: 1, Allocations: []peer.ID{to}}) // no bar: no-op
}
