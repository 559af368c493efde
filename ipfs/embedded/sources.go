package embedded

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// sourceDialTimeout bounds a fetch's wait for a connection to one of its sources.
const sourceDialTimeout = 5 * time.Second

// maxSources bounds how many sources one fetch dials.
const maxSources = 8

// reachSources connects the host to the peers likely to hold c's blocks (Config.Sources) and
// keeps their connections from the connection manager's trimming until release is called (at
// the end of the fetch).
//
// Bitswap here has no content routing: it asks the connected peers only. In a cluster of more
// than cluster.connection_manager.low_water+1 peers a peer is not connected to every member,
// so a pin's blocks may sit on members it has no connection to: the pin's other allocations
// (a repin after a death, a replication raised later) or the peer that took the pin. Dialling
// them first is what a full mesh did by being one. It is done whether or not the root is here:
// an attempt cut short keeps the root and misses the rest.
//
// The dials run at once and are not cut short: the first source to answer may hold nothing
// (another allocation still fetching), and libp2p cancels a dial whose only caller gives up.
// When wait is set and no source is connected yet, the fetch waits for the first dial to
// succeed (or all to fail, or sourceDialTimeout); otherwise it starts at once and bitswap
// asks each source as it connects. release cancels and joins the dials still running and
// lifts the protection.
func (n *Node) reachSources(ctx context.Context, c api.Cid, wait bool) (release func()) {
	h := n.cfg.Host
	if h == nil || n.cfg.Sources == nil {
		return func() {}
	}
	var srcs, todo []peer.ID
	for _, id := range n.cfg.Sources(c) {
		if id == h.ID() || len(srcs) == maxSources {
			continue
		}
		srcs = append(srcs, id)
		if h.Network().Connectedness(id) != network.Connected {
			todo = append(todo, id)
		}
	}
	unprotect := n.fetches.Hold(h.ConnManager(), "pincluster-fetch", srcs...)
	if len(todo) == 0 {
		return unprotect
	}
	// Not ctx: a read's context may end before release (OpenFile returns, then the file is
	// read); the dials are bounded by the timeout and joined by release either way.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sourceDialTimeout)
	results := make(chan error, len(todo))
	var wg sync.WaitGroup
	for _, id := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := h.Connect(dctx, peer.AddrInfo{ID: id})
			if err != nil {
				n.log.Debug("embedded: cannot reach a source of a fetch", "cid", c, "peer", id, "err", err)
			}
			results <- err
		}()
	}
	if wait && len(todo) == len(srcs) {
		for range todo {
			if <-results == nil {
				break
			}
		}
	}
	return func() {
		cancel() // the fetch is over: dials still running are of no use
		wg.Wait()
		unprotect()
	}
}

// reachSourcesToRead is reachSources for a read (cat, block get, dag export): a read of a
// root held here does not wait for the dials (its blocks are most likely here too).
func (n *Node) reachSourcesToRead(ctx context.Context, c api.Cid) (release func()) {
	local, err := n.blocks.Has(ctx, c.Cid)
	return n.reachSources(ctx, c, err != nil || !local)
}
