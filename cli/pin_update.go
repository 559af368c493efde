package cli

import (
	"time"

	"github.com/pincluster/pincluster/api"
)

// PinUpdateCmd is `pincluster pin update <from> <to>`: a pin of <to> with pin-update=<from>, so
// the cluster copies the options and allocations of <from> and unpins it.
type PinUpdateCmd struct {
	From     string `arg:"" name:"from" help:"CID of the existing pin."`
	To       string `arg:"" name:"to" help:"CID of the new pin."`
	Name     string `name:"name" short:"n" help:"New name (default: keep the name of <from>)."`
	ExpireIn string `name:"expire-in" placeholder:"DURATION" help:"Unpin after this duration (e.g. 24h)."`
	NoStatus bool   `name:"no-status" help:"Do not wait for or show the status; print the pinset entry."`
}

func (c *PinUpdateCmd) Run(g *Globals) error {
	from, err := parseCid(c.From)
	if err != nil {
		return err
	}
	to, err := parseCid(c.To)
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
	pin, err := cl.Pin(ctx, to, opts)
	if err != nil {
		return err
	}
	if c.NoStatus {
		return printPin(g, pin)
	}
	return showStatusLater(g, cl, to)
}
