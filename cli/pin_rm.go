package cli

import (
	"github.com/pincluster/pincluster/api"
)

// PinRmCmd is `pincluster pin rm <cid|path>`.
type PinRmCmd struct {
	Target   string `arg:"" optional:"" name:"cid-or-path" help:"CID or /ipfs/ path to unpin."`
	From     string `name:"from" placeholder:"FILE" help:"Unpin every CID of FILE (- = stdin), one CID, /ipfs/<cid> or NDJSON object with a cid per line. Exits 2 when a line failed."`
	NoStatus bool   `name:"no-status" aliases:"ns" help:"Do not show the status; print the removed pinset entry (after waiting, with --wait)."`
	PinWaitFlags
}

func (c *PinRmCmd) Run(g *Globals) error {
	if err := c.PinWaitFlags.checkFrom(c.Target, c.From, c.NoStatus); err != nil {
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
	// As ipfs-cluster-ctl: --wait waits first, then --no-status prints the removed pin.
	if c.Wait {
		limit := c.WaitLimit // 0: no peer may still hold it
		gpi, err := c.PinWaitFlags.flags().waitFor(g, cl, ci, api.TrackerStatusUnpinned, limit)
		if err != nil {
			return err
		}
		switch {
		case c.NoStatus:
		case len(gpi.PeerMap) == 0:
			if !g.json() {
				g.printf("%s: unpinned\n", ci)
			}
			return nil
		default:
			return printStatus(g, gpi)
		}
	}
	if c.NoStatus {
		return printPin(g, pin)
	}
	return showStatusLater(g, cl, ci)
}
