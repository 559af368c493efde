package cli

import (
	"github.com/pincluster/pincluster/api"
)

// RecoverCmd is `pincluster recover [cid]`.
type RecoverCmd struct {
	Cid   string `arg:"" optional:"" help:"CID to recover (default: every pin in error)."`
	Local bool   `name:"local" help:"Only recover on the peer the client talks to."`
}

func (c *RecoverCmd) Run(g *Globals) error {
	var ci api.Cid
	if c.Cid != "" {
		var err error
		if ci, err = parseCid(c.Cid); err != nil {
			return err
		}
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	// Recover waits until the retried operations end: no default time limit.
	ctx, cancel := g.ctx(true)
	defer cancel()
	if ci.Defined() {
		gpi, err := cl.Recover(ctx, ci, c.Local)
		if err != nil {
			return err
		}
		return printStatus(g, gpi)
	}
	return cl.RecoverAll(ctx, c.Local, func(gpi api.GlobalPinInfo) error { return printStatus(g, gpi) })
}
