package testcluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// TestBatchIngestConverges: a batch ingested on peer 0 (large group commits, broadcast as
// large signed batches) reaches every peer, and a bad line does not stop the rest.
func TestBatchIngestConverges(t *testing.T) {
	c := New(t, 3)
	const n = 5_000 // two chunks; the e2e test and the acceptance check take 100k and 200k
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(Cid(fmt.Sprint("ingest-", i)).String())
		b.WriteByte('\n')
		if i == 1234 { // line 1236 (the bad line comes after CID 1234, on line 1236)
			b.WriteString("not-a-cid\n")
		}
	}
	var failed []int
	sum, err := c.Peer(0).Ingest(context.Background(), strings.NewReader(b.String()), api.BatchPin, api.PinOptions{Name: "batch"},
		func(ev api.BatchEvent) error {
			if ev.Line > 0 {
				failed = append(failed, ev.Line)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Done || sum.OK != n || sum.Failed != 1 || len(failed) != 1 || failed[0] != 1236 {
		t.Fatalf("summary %+v, failed lines %v", sum, failed)
	}
	// The end of the batch says how many peers hold all of it: at least that many list every
	// pin at once (a peer lagging past the bounded wait is counted out, not waited for).
	if sum.Peers != 3 || sum.HeldBy < 1 || sum.HeldBy > 3 {
		t.Fatalf("summary held by %d of %d peers, want of 3", sum.HeldBy, sum.Peers)
	}
	holding := 0
	for i := 0; i < 3; i++ {
		if len(c.PinSet(i)) == n {
			holding++
		}
	}
	if holding < sum.HeldBy {
		t.Fatalf("the batch ended held by %d peers, but only %d list every pin", sum.HeldBy, holding)
	}
	if sum.HeldBy < 3 {
		t.Logf("held by %d of 3 peers when the batch ended (a peer lagged past the wait)", sum.HeldBy)
	}
	c.WaitFor(func() bool {
		for i := 0; i < 3; i++ {
			if len(c.PinSet(i)) != n {
				return false
			}
		}
		return c.Converged()
	}, 3*time.Minute, "every peer holds the %d ingested pins", n) // generous: -race on a shared machine
}
