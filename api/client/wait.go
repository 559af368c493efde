package client

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pincluster/pincluster/api"
)

// WaitFor polls the status of c every pollEvery until target is reached, and returns the last
// status. For TrackerStatusPinned, target is reached when at least limit peers report pinned
// (limit 0 = every allocated peer; limit is capped at the number of allocated peers); for
// TrackerStatusUnpinned, when no peer still holds or handles the CID (a 404 counts as done). It
// fails early when every allocated peer reports an error, and with a context.DeadlineExceeded
// wrap when ctx expires first.
func (c *Client) WaitFor(ctx context.Context, ci api.Cid, target api.TrackerStatus, limit int, pollEvery time.Duration) (api.GlobalPinInfo, error) {
	if pollEvery <= 0 {
		pollEvery = 200 * time.Millisecond
	}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	var last api.GlobalPinInfo
	for {
		gpi, err := c.Status(ctx, ci, false)
		var apiErr api.Error
		switch {
		case err == nil:
			last = gpi
			done, ferr := reached(gpi, target, limit)
			if ferr != nil {
				return gpi, ferr
			}
			if done {
				return gpi, nil
			}
		case target == api.TrackerStatusUnpinned && errors.As(err, &apiErr) && apiErr.Code == 404:
			return last, nil
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			// The wait's deadline cut the status request: say where the wait got to, not
			// that the request timed out.
			return last, notInTime(ci, target, last)
		default:
			return last, err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return last, notInTime(ci, target, last)
			}
			return last, ctx.Err()
		case <-t.C:
		}
	}
}

// notInTime is the error of a wait whose deadline passed, saying where it got to.
func notInTime(ci api.Cid, target api.TrackerStatus, last api.GlobalPinInfo) error {
	return fmt.Errorf("%s did not reach %s in time (%s): %w", ci, target, describe(last), context.DeadlineExceeded)
}

// reached reports whether gpi satisfies target for limit peers.
func reached(gpi api.GlobalPinInfo, target api.TrackerStatus, limit int) (bool, error) {
	if target == api.TrackerStatusUnpinned {
		// A member that cannot tell (cluster_error: down, or its status stale) does not hold
		// the wait: the unpin is in the pinset, and it unpins when it is back.
		for _, p := range gpi.PeerMap {
			if !p.Status.Match(api.TrackerStatusUnpinned | api.TrackerStatusRemote | api.TrackerStatusUndefined | api.TrackerStatusClusterError) {
				return false, nil
			}
		}
		return true, nil
	}
	relevant, hits, errs := 0, 0, 0
	var msgs []string
	for _, p := range gpi.PeerMap {
		if p.Status == api.TrackerStatusRemote {
			continue
		}
		relevant++
		switch {
		case p.Status == target:
			hits++
		case p.Status.Match(api.TrackerStatusPinError | api.TrackerStatusUnpinError):
			errs++
			if p.Error != "" {
				msgs = append(msgs, p.PeerName+": "+p.Error)
			}
		}
	}
	need := limit
	if need <= 0 || need > relevant {
		need = relevant
	}
	if need > 0 && hits >= need {
		return true, nil
	}
	sort.Strings(msgs)
	switch {
	case relevant > 0 && errs == relevant:
		return false, fmt.Errorf("%s failed on every allocated peer (%s): run `pincluster recover %s` once the cause is fixed",
			gpi.Cid, strings.Join(msgs, "; "), gpi.Cid)
	case errs > 0 && relevant-errs < need:
		// The peers left cannot make up the number waited for: waiting on would only end
		// at --wait-timeout, or never.
		return false, fmt.Errorf("%s failed on %d of its %d allocated peers (%s), so it cannot reach %s on %d: run `pincluster recover %s` once the cause is fixed",
			gpi.Cid, errs, relevant, strings.Join(msgs, "; "), target, need, gpi.Cid)
	}
	return false, nil
}

// describe summarises a status for timeout messages: "2 pinned, 1 pinning".
func describe(gpi api.GlobalPinInfo) string {
	counts := map[string]int{}
	for _, p := range gpi.PeerMap {
		counts[p.Status.String()]++
	}
	if len(counts) == 0 {
		return "no status yet"
	}
	var parts []string
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
