package testcluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// A peer leaving the cluster while clients pin through it (leave_on_shutdown, peers rm of a
// live peer) loses none of the pins it acknowledged: the others refuse its ops above the
// cutoff of its removal, so its writes are sealed before the cutoff is read (pins after it
// are refused as unavailable), and peers rm pulls its last ops and takes the cutoff it
// reports. Before, a batch ingest running during either lost thousands of acknowledged pins.
func TestLeavingPeerKeepsEveryAcknowledgedPin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove func(c *Cluster, ctx context.Context) error
	}{
		{"leave_on_shutdown", func(c *Cluster, ctx context.Context) error { return c.Peer(2).LeaveCluster(ctx) }},
		{"peers rm of a live peer", func(c *Cluster, ctx context.Context) error { return c.Peer(0).PeerRemove(ctx, c.ID(2)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(t, 3)
			c.WaitConnected(10 * time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var (
				mu     sync.Mutex
				acked  []api.Cid
				n      atomic.Int64
				wg     sync.WaitGroup
				others []error
			)
			const writers, perWriter = 8, 3000 // bounded: each stops at its first refusal
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range perWriter {
						cid := Cid(fmt.Sprintf("%s-%d-%d", tc.name, w, k))
						if _, err := c.Peer(2).Pin(ctx, cid, api.PinOptions{}); err != nil {
							if !errors.Is(err, api.ErrUnavailable) {
								mu.Lock()
								others = append(others, err)
								mu.Unlock()
							}
							return
						}
						mu.Lock()
						acked = append(acked, cid)
						mu.Unlock()
						n.Add(1)
					}
				}()
			}
			c.WaitFor(func() bool { return n.Load() >= 300 }, 30*time.Second, "pins acknowledged before the removal")
			if err := tc.remove(c, ctx); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if len(others) > 0 {
				t.Fatalf("a pin failed otherwise than unavailable: %v", others[0])
			}
			if len(acked) == writers*perWriter {
				t.Fatal("no pin was refused after the removal")
			}
			for _, i := range []int{0, 1} {
				c.WaitFor(func() bool {
					for _, cid := range acked {
						if !c.HasPin(i, cid) {
							return false
						}
					}
					return true
				}, 30*time.Second, "peer", i, "holds every pin peer 2 acknowledged (", len(acked), ")")
				c.Consistently(func() bool { return c.HasPin(i, acked[len(acked)-1]) }, 2*time.Second, "peer", i, "keeps them")
			}
		})
	}
}
