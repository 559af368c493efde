package cli

// IDCmd is `pincluster id`.
type IDCmd struct{}

func (c *IDCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	id, err := cl.ID(ctx)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(id)
	}
	writeID(g.io.Out, id)
	return nil
}
