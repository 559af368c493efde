package tracker

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
)

// summaryQuery asks the tracker for its counts (the metrics). Reply: Summary.
type summaryQuery struct{}

// Summary is what the tracker holds, counted without reading the durable queue: the window's
// items by status, and the queued entries beyond the window (pins or unpins; the window
// pages them in as slots free up). Pins that are pinned are not the tracker's: it forgets them.
type Summary struct {
	ByStatus      map[api.TrackerStatus]int64
	Beyond        int64 // durable queue entries not in the window yet
	QueuePriority int64 // window items waiting for a slot in the priority queue
	QueueNormal   int64 // window items waiting in the normal queue, and those beyond it
}

func (a *trackerActor) onSummary(ctx actor.Context) {
	s := Summary{ByStatus: map[api.TrackerStatus]int64{}}
	var storedInWindow int64
	for _, it := range a.items {
		if it.seq != 0 {
			storedInWindow++
		}
		if it.phase == phaseSettling {
			continue
		}
		s.ByStatus[inFlightStatus(it.op, it.phase)]++
		if it.phase == phaseQueued {
			if it.priority {
				s.QueuePriority++
			} else {
				s.QueueNormal++
			}
		}
	}
	s.Beyond = max(0, int64(a.stored)-storedInWindow)
	s.QueueNormal += s.Beyond
	ctx.Respond(s)
}

// Summary returns the tracker's counts (see Summary).
func (t *Tracker) Summary(ctx context.Context) (Summary, error) {
	res, err := t.request(ctx, summaryQuery{}, DefaultRequestTimeout)
	if err != nil {
		return Summary{}, err
	}
	s, ok := res.(Summary)
	if !ok {
		return Summary{}, fmt.Errorf("tracker: unexpected reply %T", res)
	}
	return s, nil
}
