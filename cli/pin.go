package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/client"
)

// PinCmd groups the pinset commands.
type PinCmd struct {
	Add    PinAddCmd    `cmd:"" help:"Pin a CID or /ipfs/ path in the cluster."`
	Rm     PinRmCmd     `cmd:"" help:"Unpin a CID or /ipfs/ path from the cluster."`
	Update PinUpdateCmd `cmd:"" help:"Pin <to> with the options and allocations of <from>, then unpin <from>."`
	Ls     PinLsCmd     `cmd:"" help:"List the pinset (allocations and options), or one item of it."`
}

// statusDelay is how long pin add/rm/update wait before showing the status when neither
// --no-status nor --wait is given (ipfs-cluster-ctl's 1 second); waitPoll is the poll period of
// --wait. Tests shorten them.
var (
	statusDelay = time.Second
	waitPoll    = 500 * time.Millisecond
)

// WaitFlags are --wait and --wait-timeout.
type WaitFlags struct {
	Wait        bool          `name:"wait" help:"Wait until the IPFS-pinning stage completes (pinned on at least one peer, or unpinned everywhere)."`
	WaitTimeout time.Duration `name:"wait-timeout" placeholder:"DURATION" help:"Give up waiting after this long (exit code 62; default: no limit)."`
}

// waitFor waits for target under --wait-timeout and returns the last status.
func (w WaitFlags) waitFor(g *Globals, cl *client.Client, ci api.Cid, target api.TrackerStatus, limit int) (api.GlobalPinInfo, error) {
	ctx, cancel := context.WithCancel(g.background())
	if w.WaitTimeout > 0 {
		ctx, cancel = context.WithTimeout(g.background(), w.WaitTimeout)
	}
	defer cancel()
	gpi, err := cl.WaitFor(ctx, ci, target, limit, waitPoll)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		return gpi, fmt.Errorf("gave up waiting after --wait-timeout %s: %w", w.WaitTimeout, err)
	}
	return gpi, err
}

// showStatusLater waits statusDelay, then prints the status of ci; a CID that is no longer
// known (404) prints a note instead.
func showStatusLater(g *Globals, cl *client.Client, ci api.Cid) error {
	t := time.NewTimer(statusDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-g.background().Done():
		return g.background().Err()
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	gpi, err := cl.Status(ctx, ci, false)
	var ae api.Error
	if errors.As(err, &ae) && ae.Code == 404 {
		if !g.json() {
			g.printf("%s: not in the pinset\n", ci)
		}
		return nil
	}
	if err != nil {
		return err
	}
	return printStatus(g, gpi)
}

func printStatus(g *Globals, gpi api.GlobalPinInfo) error {
	if g.json() {
		return g.printJSON(gpi)
	}
	writeStatus(g.io.Out, gpi)
	return nil
}

func printPin(g *Globals, p api.Pin) error {
	if g.json() {
		return g.printJSON(p)
	}
	writePin(g.io.Out, p)
	return nil
}
