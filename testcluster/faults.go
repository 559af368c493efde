package testcluster

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// partition is the cluster-wide network split: peers in side are cut off from the others.
// Hosts that are not cluster peers (a test's intruder) are never blocked.
type partition struct {
	mu      sync.RWMutex
	active  bool
	side    map[libp2ppeer.ID]bool // one side; every other cluster peer is on the other side
	members map[libp2ppeer.ID]bool
}

func newPartition() *partition {
	return &partition{side: map[libp2ppeer.ID]bool{}, members: map[libp2ppeer.ID]bool{}}
}

func (pt *partition) blocked(a, b libp2ppeer.ID) bool {
	pt.mu.RLock()
	defer pt.mu.RUnlock()
	if !pt.active || !pt.members[a] || !pt.members[b] {
		return false
	}
	return pt.side[a] != pt.side[b]
}

// gater is one host's libp2p connection gater: it refuses dials to, and secured inbound
// connections from, peers across the partition.
type gater struct {
	self libp2ppeer.ID
	part *partition
}

var _ connmgr.ConnectionGater = (*gater)(nil)

func (g *gater) InterceptPeerDial(p libp2ppeer.ID) bool { return !g.part.blocked(g.self, p) }

func (g *gater) InterceptAddrDial(p libp2ppeer.ID, _ ma.Multiaddr) bool {
	return !g.part.blocked(g.self, p)
}

func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g *gater) InterceptSecured(_ network.Direction, p libp2ppeer.ID, _ network.ConnMultiaddrs) bool {
	return !g.part.blocked(g.self, p)
}

func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// Partition splits the network in two: the peers ids on one side, every other peer on the
// other. New connections across the split are refused (libp2p connection gater) and existing
// ones closed, so pubsub, anti-entropy and remote requests stop crossing it. A new Partition
// replaces the previous one.
func (c *Cluster) Partition(ids ...int) {
	c.t.Helper()
	nodes := c.snapshot()
	c.part.mu.Lock()
	c.part.active = true
	c.part.side = map[libp2ppeer.ID]bool{}
	for _, nd := range nodes {
		c.part.members[nd.ident.ID] = true
	}
	for _, i := range ids {
		c.part.side[c.ID(i)] = true
	}
	c.part.mu.Unlock()
	for _, nd := range nodes {
		p := c.Peer(nd.i)
		if p == nil {
			continue
		}
		for _, other := range nodes {
			if other != nd && c.part.blocked(nd.ident.ID, other.ident.ID) {
				_ = c.Probe(nd.i).Host().Network().ClosePeer(other.ident.ID)
			}
		}
	}
}

// Heal removes the partition and reconnects every pair of running peers.
func (c *Cluster) Heal() {
	c.t.Helper()
	c.part.mu.Lock()
	c.part.active = false
	c.part.mu.Unlock()
	c.connectAll()
}

// Unpartition lifts the partition without dialling anyone: the peers must find each other
// again by themselves (their membership redials).
func (c *Cluster) Unpartition() {
	c.part.mu.Lock()
	c.part.active = false
	c.part.mu.Unlock()
}

// connectAll dials every running peer from every other (errors are left to the caller's
// WaitFor: a peer may be on its way down).
func (c *Cluster) connectAll() {
	nodes := c.snapshot()
	var wg sync.WaitGroup
	for _, a := range nodes {
		if c.Peer(a.i) == nil {
			continue
		}
		ha := c.Probe(a.i).Host()
		for _, b := range nodes {
			if a == b || c.Peer(b.i) == nil {
				continue
			}
			info, err := libp2ppeer.AddrInfoFromString(c.Addr(b.i))
			if err != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = ha.Connect(ctx, *info)
			}()
		}
	}
	wg.Wait()
}

// Kill stops peer i abruptly, as near to SIGKILL as one process allows: its libp2p host is
// closed first, so nothing it still holds (ops batched but not yet broadcast, metrics, replies)
// reaches the network, and then the peer is closed, which stops its actors without a flush (the
// batcher does not publish on stop). What an in-process kill cannot do is drop Badger's open
// files: the store is closed normally. That is no weaker a test for lost pins, since a pin is
// acknowledged only once its op is written, and a real SIGKILL keeps written data in the page
// cache too. The peer's dir, identity, port and IPFS backend are kept for Restart.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	p := c.take(i)
	if p == nil {
		c.t.Fatalf("testcluster: Kill(%d): peer is not running", i)
	}
	_ = c.Probe(i).Host().Close()
	if err := p.Close(); err != nil {
		c.t.Logf("testcluster: killed peer %d closed with: %v", i, err)
	}
}
