package cli

import (
	"github.com/pincluster/pincluster/api"
)

// PinRmCmd is `pincluster pin rm <cid|path>`.
type PinRmCmd struct {
	Target   string `arg:"" name:"cid-or-path" help:"CID or /ipfs/ path to unpin."`
	NoStatus bool   `name:"no-status" help:"Do not wait for or show the status."`
	WaitFlags
}

func (c *PinRmCmd) Run(g *Globals) error {
	t, err := parseTarget(c.Target)
	if err != nil {
		return err
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	var pin api.Pin
	if t.path != "" {
		pin, err = cl.UnpinPath(ctx, t.path)
	} else {
		pin, err = cl.Unpin(ctx, t.cid)
	}
	if err != nil {
		return err
	}
	ci := pin.Cid
	if !ci.Defined() {
		ci = t.cid
	}
	switch {
	case c.NoStatus:
		if g.json() {
			return g.printJSON(pin)
		}
		return nil
	case c.Wait:
		gpi, err := c.WaitFlags.waitFor(g, cl, ci, api.TrackerStatusUnpinned, 0)
		if err != nil {
			return err
		}
		if len(gpi.PeerMap) == 0 {
			if !g.json() {
				g.printf("%s: unpinned\n", ci)
			}
			return nil
		}
		return printStatus(g, gpi)
	default:
		return showStatusLater(g, cl, ci)
	}
}
