package testcluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/peer"
)

// connectedTo reports whether peer i has a connection to every peer in js.
func (c *Cluster) connectedTo(i int, js ...int) bool {
	p := c.Peer(i)
	if p == nil {
		return false
	}
	for _, j := range js {
		if len(c.Probe(i).Host().Network().ConnsToPeer(c.ID(j))) == 0 {
			return false
		}
	}
	return true
}

// TestRestartedPeerRejoinsWithoutBootstrap: the peerstore file is written while the peer runs
// (a kill -9 never reaches a shutdown hook), so a peer restarted without --bootstrap dials every
// member it knew and is back in the cluster within seconds.
func TestRestartedPeerRejoinsWithoutBootstrap(t *testing.T) {
	c := New(t, 4)
	c.WaitConnected(10 * time.Second)
	path := filepath.Join(c.Dir(3), peer.PeerstoreFile)
	c.WaitFor(func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		for _, j := range []int{0, 1, 2} {
			if !strings.Contains(string(b), c.ID(j).String()) {
				return false
			}
		}
		return true
	}, 5*time.Second, "peer 3's peerstore file lists every member while it runs")
	c.Kill(3)
	t0 := time.Now()
	c.RestartAlone(3)
	// The target is 5 s; the bound leaves room for a loaded 2-core machine.
	c.WaitFor(func() bool { return c.connectedTo(3, 0, 1, 2) }, 10*time.Second, "the restarted peer reaches every member")
	t.Logf("restarted peer connected to every member %s after its restart began", time.Since(t0).Round(time.Millisecond))
	c.WaitConnected(10 * time.Second)
}

// TestCutOffPeerRedialsAndSpreadsItsOps: a partitioned peer accepts pins; when the partition
// lifts, nobody dials on the harness's behalf, yet the peers redial each other and its ops
// reach everyone within seconds.
func TestCutOffPeerRedialsAndSpreadsItsOps(t *testing.T) {
	c := New(t, 3)
	c.WaitConnected(10 * time.Second)
	c.Partition(2)
	c.WaitFor(func() bool { return len(c.Probe(2).Host().Network().Peers()) == 0 }, 5*time.Second, "peer 2 isolated")
	ctx := context.Background()
	x := Cid("cut-off-x")
	if _, err := c.Peer(2).Pin(ctx, x, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	// Long enough for every peer's redial backoff to reach its ceiling.
	wait(6 * time.Second)
	c.Unpartition()
	t0 := time.Now()
	// Redials are at most ~6.25 s apart (5 s backoff plus jitter); the target for the spread
	// after reconnection is 5 s more.
	c.WaitFor(func() bool { return c.HasPin(0, x) && c.HasPin(1, x) }, 20*time.Second, "the cut-off peer's pin reaches everyone after the partition lifts")
	t.Logf("the cut-off peer's pin reached everyone %s after the partition lifted", time.Since(t0).Round(time.Millisecond))
}

// TestPeerAloneBootstrapsAgain: a peer whose only bootstrap peer dies right after it joined
// still finds the rest of the cluster (it learned them), and a peer that lost every
// connection dials again.
func TestPeerAloneBootstrapsAgain(t *testing.T) {
	c := New(t, 3)
	c.WaitConnected(10 * time.Second)
	c.Kill(0)
	c.Kill(1)
	c.WaitFor(func() bool { return len(c.Probe(2).Host().Network().Peers()) == 0 }, 5*time.Second, "peer 2 alone")
	c.RestartAlone(0)
	c.RestartAlone(1)
	c.WaitFor(func() bool { return c.connectedTo(2, 0, 1) && c.connectedTo(0, 1) }, 10*time.Second, "everyone reconnects")
}
