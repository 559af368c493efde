package cli

import (
	"github.com/pincluster/pincluster/api"
)

// PeersCmd groups `peers ls` and `peers rm`.
type PeersCmd struct {
	Ls PeersLsCmd `cmd:"" help:"List the cluster peers."`
	Rm PeersRmCmd `cmd:"" help:"Remove a peer from the cluster (it shuts down and cleans its state)."`
}

// PeersLsCmd is `pincluster peers ls`.
type PeersLsCmd struct{}

func (c *PeersLsCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(true)
	defer cancel()
	return cl.Peers(ctx, func(id api.ID) error {
		if g.json() {
			return g.printJSON(id)
		}
		writeID(g.io.Out, id)
		return nil
	})
}

// PeersRmCmd is `pincluster peers rm <peer ID>`.
type PeersRmCmd struct {
	Peer string `arg:"" name:"peer-id" help:"ID of the peer to remove."`
}

func (c *PeersRmCmd) Run(g *Globals) error {
	ids, err := parsePeers([]string{c.Peer})
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errEmptyPeer
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	if err := cl.PeerRemove(ctx, ids[0]); err != nil {
		return err
	}
	if !g.json() {
		g.printf("removed %s\n", ids[0])
	}
	return nil
}
