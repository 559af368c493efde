package cli

import (
	"fmt"
	"strings"

	"github.com/pincluster/pincluster/api"
)

// PinLsCmd is `pincluster pin ls [cid]`.
type PinLsCmd struct {
	Cid       string   `arg:"" optional:"" help:"Show only this CID."`
	Filter    string   `name:"filter" default:"pin" help:"Pin types to list, comma separated: all, pin (default), meta-pin (a sharded add's root), clusterdag-pin, shard-pin."`
	Name      string   `name:"name" help:"Only pins with this name (an index lookup; see --name-match)."`
	NameMatch string   `name:"name-match" default:"exact" enum:"exact,iexact,partial,ipartial" help:"How --name matches: exact, iexact (ignoring case), partial (a substring), ipartial. exact and iexact use the index; partial ones scan."`
	Metadata  []string `name:"metadata" sep:"none" placeholder:"KEY=VALUE" help:"Only pins with this metadata pair (repeatable; every pair must match; an index lookup)."`
}

func (c *PinLsCmd) Run(g *Globals) error {
	for _, f := range strings.Split(c.Filter, ",") {
		if _, err := api.ParsePinTypes(f); err != nil {
			return fmt.Errorf("unknown --filter %q for pin ls (valid: all, pin, meta-pin, clusterdag-pin, shard-pin)", f)
		}
	}
	if c.Cid != "" && (c.Name != "" || len(c.Metadata) > 0) {
		return fmt.Errorf("pin ls takes a CID or --name/--metadata, not both")
	}
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
	if ci.Defined() {
		ctx, cancel := g.ctx(false)
		defer cancel()
		pin, err := cl.Allocation(ctx, ci)
		if err != nil {
			return err
		}
		return printPin(g, pin)
	}
	md, err := parseMetadata(c.Metadata)
	if err != nil {
		return err
	}
	q := api.PinQuery{Name: c.Name, Meta: md}
	if c.Name != "" {
		q.NameMatch = c.NameMatch
	} else if c.NameMatch != "exact" {
		return fmt.Errorf("--name-match %s needs --name", c.NameMatch)
	}
	ctx, cancel := g.ctx(true)
	defer cancel()
	if q.IsZero() {
		return cl.Allocations(ctx, c.Filter, func(p api.Pin) error { return printPin(g, p) })
	}
	return cl.FindAllocations(ctx, c.Filter, q, func(p api.Pin) error { return printPin(g, p) })
}
