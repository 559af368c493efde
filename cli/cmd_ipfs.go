package cli

// IPFSCmd groups the IPFS commands.
type IPFSCmd struct {
	GC IPFSGCCmd `cmd:"" name:"gc" help:"Run a garbage collection on the IPFS nodes of the cluster."`
}

// IPFSGCCmd is `pincluster ipfs gc`.
type IPFSGCCmd struct {
	Local bool `name:"local" help:"Only on the peer the client talks to."`
}

func (c *IPFSGCCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(true) // a gc can take long
	defer cancel()
	gc, err := cl.IPFSGC(ctx, c.Local)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(gc)
	}
	writeGC(g.io.Out, gc)
	return nil
}
