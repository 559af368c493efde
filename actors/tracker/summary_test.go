package tracker

import (
	"fmt"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// Summary counts the window by status and queue (what the metrics export).
func TestSummary(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins = 1
	cfg.PriorityPinMaxAge = time.Hour
	tr, b := newTestTracker(t, cfg)
	running := testPin(t, "running")
	b.StallPin(running.Cid)
	tr.Track(ctx5s(t), running)
	waitStatus(t, tr, running, api.TrackerStatusPinning)
	old := testPin(t, "old")
	old.Timestamp = time.Now().Add(-2 * time.Hour) // the normal queue
	fresh := testPin(t, "fresh")                   // the priority queue
	tr.Track(ctx5s(t), old)
	tr.Track(ctx5s(t), fresh)
	waitFor(t, "the summary", func() (bool, string) {
		s, err := tr.Summary(ctx5s(t))
		if err != nil {
			return false, err.Error()
		}
		queued := s.ByStatus[api.TrackerStatusPinQueued] + s.Beyond
		ok := s.ByStatus[api.TrackerStatusPinning] == 1 && queued == 2 && s.QueuePriority+s.QueueNormal == 2
		return ok, fmt.Sprintf("%+v", s)
	})
	b.Release(running.Cid)
}
