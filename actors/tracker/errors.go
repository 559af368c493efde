package tracker

import (
	"fmt"

	"github.com/pincluster/pincluster/api"
)

// ErrQueueFull is matched (errors.Is) by every refusal of the pin queue, whether the tracker
// refuses a Track or the peer refuses a pin up front (Full). Such errors also match
// api.ErrUnavailable (HTTP 503: try again later). It is api.ErrQueueFull.
var ErrQueueFull = api.ErrQueueFull

// queueFull is the one wording of the refusal: it names the key to change.
func queueFull(max int) error {
	return fmt.Errorf("%w: pin %w (pin_tracker.max_pin_queue_size=%d): raise it or slow the intake", api.ErrUnavailable, ErrQueueFull, max)
}

// Full returns a queueFull error when max_pin_queue_size items are queued or in progress, so
// the peer can refuse a pin before it is stored. The tracker applies the same bound to Track.
func (t *Tracker) Full() error {
	if t.QueueLen() >= t.cfg.MaxPinQueueSize {
		return queueFull(t.cfg.MaxPinQueueSize)
	}
	return nil
}
