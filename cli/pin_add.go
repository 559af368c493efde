package cli

import (
	"time"

	"github.com/pincluster/pincluster/api"
)

// PinAddCmd is `pincluster pin add <cid|path>`.
type PinAddCmd struct {
	Target      string `arg:"" optional:"" name:"cid-or-path" help:"CID, or /ipfs/<cid>/path, /ipns/<name> to resolve."`
	From        string `name:"from" placeholder:"FILE" help:"Pin every CID of FILE (- = stdin): one CID or /ipfs/<cid> per line, or NDJSON objects with per-pin options (cid, name, replication_factor_min, replication_factor_max, allocations, mode, expire_at, metadata); the flags apply to lines that do not set their own. Exits 2 when a line failed."`
	Replication int    `name:"replication" short:"r" placeholder:"N" help:"Replication factor: sets both --replication-min and --replication-max (-1 = every peer)."`
	Mode        string `name:"mode" default:"recursive" help:"recursive (the whole DAG) or direct (the root block only)."`
	NoStatus    bool   `name:"no-status" aliases:"ns" help:"Do not show the status; print the pinset entry (after waiting, with --wait)."`
	PinFlags
	PinWaitFlags
}

func (c *PinAddCmd) Run(g *Globals) error {
	if err := c.PinWaitFlags.checkFrom(c.Target, c.From, c.NoStatus); err != nil {
		return err
	}
	opts, err := c.PinFlags.options(c.Replication, time.Now())
	if err != nil {
		return err
	}
	if opts.Mode, err = api.ParsePinMode(c.Mode); err != nil {
		return err
	}
	if c.From != "" {
		return runBatch(g, api.BatchPin, c.From, opts)
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
		pin, err = cl.PinPath(ctx, t.path, opts)
	} else {
		pin, err = cl.Pin(ctx, t.cid, opts)
	}
	if err != nil {
		return err
	}
	if !pin.Cid.Defined() {
		pin.Cid = t.cid
	}
	return c.PinWaitFlags.waitThenShow(g, cl, pin, c.NoStatus)
}
