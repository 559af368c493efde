package testcluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// TestSupervisionHealsActors crashes each supervised actor of peer 0 (a test fault hook makes
// it panic, as a bug would) while pins flow through that peer: the peer keeps serving, the
// root restarts the actor as a fresh instance, and every pin acknowledged before, during and
// after the crashes ends up in every peer's pinset and pinned on its allocations.
func TestSupervisionHealsActors(t *testing.T) {
	c := New(t, 3, withReplication2(true)) // allocations: the allocator decides every pin
	c.WaitConnected(30 * time.Second)
	cids := testCids("supervision", 120)
	actors := []string{"monitor", "allocator", "informer", "healer", "rpc", "membership", "syncer", "batcher", "tracker", "pinset", "antientropy", "gossip", "collector", "tokens"}

	var mu sync.Mutex
	var acked []api.Cid
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(done)
		for _, x := range cids {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := c.Peer(0).Pin(ctx, x, api.PinOptions{})
			cancel()
			if err != nil {
				t.Logf("pin %s failed: %v", x, err)
				errs <- err
				return
			}
			mu.Lock()
			acked = append(acked, x)
			mu.Unlock()
		}
	}()
	in := c.Probe(0)
	for k, name := range actors {
		// Crash while pins are flowing: after the (k+1)th sixth of them is acknowledged.
		c.WaitFor(func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(acked) >= (k+1)*len(cids)/(len(actors)+2)
		}, 60*time.Second, "pins acknowledged before crashing %s", name)
		if err := in.Crash(name); err != nil {
			t.Fatal(err)
		}
		c.WaitFor(func() bool {
			n, err := in.Restarts(name)
			return err == nil && n == 1
		}, 30*time.Second, "%s restarted", name)
	}
	<-done
	select {
	case err := <-errs:
		t.Fatalf("a pin failed while actors restarted: %v", err)
	default:
	}
	for _, x := range acked {
		c.WaitFor(func() bool { return c.pinnedOnAllocations(x, -1) }, 60*time.Second, "%s pinned on its allocations", x)
	}
	// Each restarted actor serves again: status (monitor), allocation (allocator), remote
	// calls (rpc) answer.
	if _, err := c.Peer(0).Pin(context.Background(), testCids("after", 1)[0], api.PinOptions{}); err != nil {
		t.Fatalf("pin after the restarts: %v", err)
	}
	if _, err := c.Peer(0).Metrics(context.Background(), "ping"); err != nil {
		t.Fatalf("metrics after the monitor's restart: %v", err)
	}
	gc, err := c.Peer(1).IPFSGC(context.Background(), false)
	if e := gc.PeerMap[c.ID(0).String()].Error; err != nil || e != "" {
		t.Fatalf("remote call to the restarted rpc actor: %v %s", err, e)
	}
}

// TestTreeHasEveryActor: the peer's long-lived actors are children of its root.
func TestTreeHasEveryActor(t *testing.T) {
	c := New(t, 1)
	names, err := c.Probe(0).Children()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, want := range []string{"tracker", "batcher", "pinset", "syncer", "monitor", "allocator", "informer", "healer", "rpc", "membership", "antientropy", "gossip", "collector", "tokens"} {
		if !have[want] {
			t.Errorf("no %s under the root (children %v)", want, names)
		}
	}
}
