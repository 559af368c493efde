package cli

import (
	"github.com/pincluster/pincluster/api"
)

// PinRmCmd is `pincluster pin rm <cid|path>`.
type PinRmCmd struct {
	Target   string `arg:"" optional:"" name:"cid-or-path" help:"CID or /ipfs/ path to unpin."`
	From     string `name:"from" placeholder:"FILE" help:"Unpin every CID of FILE (- = stdin), one CID, /ipfs/<cid> or NDJSON object with a cid per line. Exits 2 when a line failed."`
	NoStatus bool   `name:"no-status" help:"Do not wait for or show the status."`
	WaitFlags
}

func (c *PinRmCmd) Run(g *Globals) error {
	if err := checkFrom(c.Target, c.From, c.NoStatus, c.WaitFlags); err != nil {
		return err
	}
	if c.From != "" {
		return runBatch(g, api.BatchUnpin, c.From, api.PinOptions{})
	}
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
