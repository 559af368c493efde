package testcluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
)

// Formation: waiting until every peer sees every other peer's ping, and saying what is
// missing when it does not happen.

// WaitConnected waits until every running peer has a valid ping metric from every running peer
// (full membership on every side).
func (c *Cluster) WaitConnected(timeout time.Duration) {
	c.t.Helper()
	formed := func() bool {
		running := c.Running()
		for _, i := range running {
			if !c.SeesAlive(i, running...) {
				return false
			}
		}
		return true
	}
	if !Eventually(formed, timeout) {
		c.t.Fatalf("testcluster: timed out after %s waiting for every peer to see every other peer's ping: %s",
			timeout, c.formationGaps())
	}
}

// formationGaps says what a cluster that did not form lacks: the (seer, seen) pairs without a
// valid ping and, of those, how many have no connection at all (a membership problem rather
// than a gossip one), with a few examples.
func (c *Cluster) formationGaps() string {
	running := c.Running()
	var missing, unconnected int
	var examples []string
	for _, i := range running {
		live := c.LiveIDs(i)
		for _, j := range running {
			if live[c.ID(j)] {
				continue
			}
			missing++
			connected := c.connected(i, j)
			if !connected {
				unconnected++
			}
			if len(examples) < 5 {
				examples = append(examples, fmt.Sprintf("%d does not see %d (connected: %t)", i, j, connected))
			}
		}
	}
	return fmt.Sprintf("%d of %d pairs without a ping, %d of them not connected; %s",
		missing, len(running)*len(running), unconnected, strings.Join(examples, "; "))
}

// connected reports whether peer i holds a connection to peer j (or is j).
func (c *Cluster) connected(i, j int) bool {
	if i == j {
		return true
	}
	probe := c.Probe(i)
	return probe.Host() != nil && len(probe.Host().Network().ConnsToPeer(c.ID(j))) > 0
}

// SeesAlive reports whether peer i holds a valid ping metric of each peer in js.
func (c *Cluster) SeesAlive(i int, js ...int) bool {
	live := c.LiveIDs(i)
	for _, j := range js {
		if !live[c.ID(j)] {
			return false
		}
	}
	return true
}

// LiveIDs is the set of peers whose ping metric is valid on peer i (nil if i is stopped).
func (c *Cluster) LiveIDs(i int) map[libp2ppeer.ID]bool {
	p := c.Peer(i)
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ms, err := p.Metrics(ctx, "ping")
	if err != nil {
		return map[libp2ppeer.ID]bool{}
	}
	out := map[libp2ppeer.ID]bool{}
	for _, m := range ms {
		out[m.Peer] = true
	}
	return out
}
