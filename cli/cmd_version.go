package cli

// VersionCmd is `pincluster version`: the version of the peer the client talks to.
type VersionCmd struct{}

func (c *VersionCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	v, err := cl.Version(ctx)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(v)
	}
	g.printf("%s\n", v.Version)
	return nil
}
