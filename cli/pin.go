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
	Update PinUpdateCmd `cmd:"" help:"Pin <to> with the options and allocations of <from> (which stays pinned: pin rm it after)."`
	Ls     PinLsCmd     `cmd:"" help:"List the pinset (allocations and options), or one item of it."`
}

// statusDelay is how long pin add/rm/update wait before showing the status when neither
// --no-status nor --wait is given (ipfs-cluster-ctl's 1 second); waitPoll is the poll period of
// --wait. Tests shorten them.
var (
	statusDelay = time.Second
	waitPoll    = 500 * time.Millisecond
)

// WaitFlags are add's --wait and --wait-timeout.
type WaitFlags struct {
	Wait        bool          `name:"wait" help:"Wait until the IPFS-pinning stage completes (pinned on at least one peer, or unpinned everywhere)."`
	WaitTimeout time.Duration `name:"wait-timeout" aliases:"wt" placeholder:"DURATION" help:"Give up waiting after this long (exit code 62; default: no limit)."`
}

// PinWaitFlags are the waiting flags of pin add, rm and update, spelled as ipfs-cluster-ctl
// spells them (-w, --wl, --wt: its users' scripts keep working). add has them without -w,
// which is its --wrap-with-directory there too.
type PinWaitFlags struct {
	Wait        bool          `name:"wait" short:"w" help:"Wait until the pin reaches its minimum replication factor (pinned on that many peers, or on every allocated peer when it is -1), or for an unpin, until no peer holds it."`
	WaitLimit   int           `name:"wait-limit" aliases:"wl" placeholder:"N" help:"With --wait: how many peers must reach the status (default: the pin's replication_factor_min)."`
	WaitTimeout time.Duration `name:"wait-timeout" aliases:"wt" placeholder:"DURATION" help:"Give up waiting after this long (exit code 62; default: no limit)."`
}

func (w PinWaitFlags) flags() WaitFlags { return WaitFlags{Wait: w.Wait, WaitTimeout: w.WaitTimeout} }

// checkFrom is checkFrom with --wait-limit, which --from does not take either.
func (w PinWaitFlags) checkFrom(target, from string, noStatus bool) error {
	if from != "" && w.WaitLimit != 0 {
		return fmt.Errorf("--from does not take --wait-limit (check with pincluster status afterwards)")
	}
	return checkFrom(target, from, noStatus, w.flags())
}

// limit is how many peers --wait waits for on a pin: --wait-limit, else the pin's minimum
// replication factor, as ipfs-cluster-ctl does (0, every allocated peer, for -1).
func (w PinWaitFlags) limit(p api.Pin) int {
	if w.WaitLimit > 0 {
		return w.WaitLimit
	}
	return max(p.ReplicationFactorMin, 0)
}

// waitThenShow ends pin add and pin update as ipfs-cluster-ctl's does: --wait waits first,
// then --no-status prints the pin, otherwise the status is printed (the last one waited for,
// or one read a moment after the request).
func (w PinWaitFlags) waitThenShow(g *Globals, cl *client.Client, pin api.Pin, noStatus bool) error {
	if w.Wait {
		gpi, err := w.flags().waitFor(g, cl, pin.Cid, api.TrackerStatusPinned, w.limit(pin))
		if err != nil {
			return err
		}
		if !noStatus {
			return printStatus(g, gpi)
		}
	}
	if noStatus {
		return printPin(g, pin)
	}
	return showStatusLater(g, cl, pin.Cid)
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
