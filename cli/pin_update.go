package cli

import (
	"time"

	"github.com/pincluster/pincluster/api"
)

// PinUpdateCmd is `pincluster pin update <from> <to>`: a pin of <to> with pin-update=<from>, so
// the cluster copies the options and allocations of <from>. <from> stays pinned, as with
// ipfs-cluster-ctl: unpin it with pin rm once <to> is pinned.
type PinUpdateCmd struct {
	From     string `arg:"" name:"from" help:"CID of the existing pin."`
	To       string `arg:"" name:"to" help:"CID of the new pin, or a path (/ipfs/<cid>/sub/path, /ipns/<name>) to resolve."`
	Name     string `name:"name" short:"n" help:"New name (default: keep the name of <from>)."`
	ExpireIn string `name:"expire-in" placeholder:"DURATION" help:"Unpin after this duration (e.g. 24h)."`
	NoStatus bool   `name:"no-status" aliases:"ns" help:"Do not show the status; print the pinset entry (after waiting, with --wait)."`
	PinWaitFlags
}

func (c *PinUpdateCmd) Run(g *Globals) error {
	from, err := parseCid(c.From)
	if err != nil {
		return err
	}
	to, err := parseTarget(c.To)
	if err != nil {
		return err
	}
	opts := api.PinOptions{Name: c.Name, PinUpdate: from}
	if c.ExpireIn != "" {
		d, err := parseExpireIn(c.ExpireIn)
		if err != nil {
			return err
		}
		opts.ExpireAt = time.Now().Add(d)
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	var pin api.Pin
	if to.path != "" {
		pin, err = cl.PinPath(ctx, to.path, opts)
	} else {
		pin, err = cl.Pin(ctx, to.cid, opts)
	}
	if err != nil {
		return err
	}
	if !pin.Cid.Defined() {
		pin.Cid = to.cid
	}
	return c.PinWaitFlags.waitThenShow(g, cl, pin, c.NoStatus)
}
