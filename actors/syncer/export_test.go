package syncer

import (
	"golang.org/x/time/rate"

	"github.com/pincluster/pincluster/messages"
)

// Test-only API: exported here so that only this package's tests see it.

// WithPageSize sets the ops (or records) asked per request (DefaultPageSize by default).
func WithPageSize(n int) Option {
	return func(s *Syncer) {
		if n > 0 {
			s.page = n
		}
	}
}

// Changed hands over a PinsetChanged event, as the pinset does to its subscribers.
func (c *Collector) Changed(ev messages.PinsetChanged) {
	c.system.Root.Send(c.pid, ev)
}

// WithSnapshotMin sets the fewest missing ops for which a far-behind requester is sent a
// snapshot (snapshotMinOps by default; tests use small histories).
func WithSnapshotMin(n uint64) Option {
	return func(s *Syncer) { s.snapshotMin = n }
}

// WithoutAnnounceLimit takes every announcement, however often a peer sends them (tests that
// deliver many at once).
func WithoutAnnounceLimit() Option {
	return func(s *Syncer) { s.announceLimit = rate.Inf }
}
