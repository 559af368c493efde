package embedded

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// sourceDialTimeout bounds a pin's wait for the connections to its sources.
const sourceDialTimeout = 5 * time.Second

// maxSources bounds how many sources one pin dials.
const maxSources = 8

// reachSources connects the host to the peers likely to hold c's blocks (Config.Sources)
// that it is not connected to, before the fetch starts, unless the root block is here already
// (an add pushed it, or an earlier attempt fetched it).
//
// Bitswap here has no content routing: it asks the connected peers only. In a cluster of more
// than cluster.connection_manager.low_water+1 peers a peer is not connected to every member,
// so a pin's blocks may sit on members it has no connection to: the pin's other allocations
// (a repin after a death, a replication raised later) or the peer that took the pin. Dialling
// them first is what a full mesh did by being one. The dials run at once and are joined; one
// that fails costs nothing but its time, bounded by sourceDialTimeout, and the fetch then asks
// whoever is connected.
func (n *Node) reachSources(ctx context.Context, c api.Cid) {
	h := n.cfg.Host
	if h == nil || n.cfg.Sources == nil {
		return
	}
	if local, err := n.blocks.Has(ctx, c.Cid); err != nil || local {
		return
	}
	var todo []peer.ID
	for _, id := range n.cfg.Sources(c) {
		if id != h.ID() && h.Network().Connectedness(id) != network.Connected && len(todo) < maxSources {
			todo = append(todo, id)
		}
	}
	if len(todo) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, sourceDialTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, id := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.Connect(dctx, peer.AddrInfo{ID: id}); err != nil {
				n.log.Debug("embedded: cannot reach a source of a pin", "cid", c, "peer", id, "err", err)
			}
		}()
	}
	wg.Wait()
}
