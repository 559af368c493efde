package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"

	"github.com/pincluster/pincluster/api"
)

// StatusCmd is `pincluster status [cid...]`.
type StatusCmd struct {
	Cids   []string `arg:"" optional:"" name:"cid" help:"CIDs to show (default: every pin)."`
	Local  bool     `name:"local" help:"Only the status on the peer the client talks to."`
	Fresh  bool     `name:"fresh" help:"Ask every peer now instead of reading the replica of their status digests (slower: pins x peers)."`
	Filter string   `name:"filter" placeholder:"STATUS,..." help:"Only pins with one of these statuses on some peer: pinned, pinning, pin_queued, pin_error, unpinned, unpinning, unpin_queued, unpin_error, remote, cluster_error, unexpectedly_unpinned, error, queued (sharded, accepted as in IPFS Cluster, matches nothing: pincluster does not shard)."`
}

func (c *StatusCmd) Run(g *Globals) error {
	if c.Fresh && c.Local {
		return fmt.Errorf("%w: --fresh and --local exclude each other (--local always asks the peer now)", api.ErrInvalid)
	}
	filter, err := api.ParseTrackerStatusFilter(c.Filter)
	if err != nil {
		return err
	}
	cids := make([]api.Cid, 0, len(c.Cids))
	for _, s := range c.Cids {
		ci, err := parseCid(s)
		if err != nil {
			return err
		}
		cids = append(cids, ci)
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	if len(cids) == 1 {
		ctx, cancel := g.ctx(false)
		defer cancel()
		status := cl.Status
		if c.Fresh {
			status = func(ctx context.Context, ci api.Cid, _ bool) (api.GlobalPinInfo, error) {
				return cl.StatusFresh(ctx, ci)
			}
		}
		gpi, err := status(ctx, cids[0], c.Local)
		if err != nil {
			return err
		}
		if !gpi.Match(filter) {
			return nil
		}
		return printStatus(g, gpi)
	}
	ctx, cancel := g.ctx(true)
	defer cancel()
	// A global status is a block per pin with a line per member: buffered, not a write per pin.
	out := bufio.NewWriterSize(g.io.Out, 64<<10)
	// The daemon renders the text, or declares its JSON lines canonical and they are copied
	// (client.StatusAllText, StatusAllNDJSON).
	if g.json() {
		err = cl.StatusAllNDJSON(ctx, c.Filter, c.Local, c.Fresh, cids, out)
	} else {
		err = cl.StatusAllText(ctx, c.Filter, c.Local, c.Fresh, cids, out)
	}
	return errors.Join(err, out.Flush())
}
