package tracker

import (
	"time"

	"github.com/pincluster/pincluster/api"
)

// opKind is what a tracked item asks of the IPFS node.
type opKind uint8

const (
	opPin opKind = iota
	opUnpin
)

// phase is where an item is in its life in the tracker.
type phase uint8

const (
	phaseNone     phase = iota
	phaseQueued         // waiting for a slot (or for the previous operation on the CID to drain)
	phaseRunning        // its cid actor is calling IPFS
	phaseRetrying       // the last attempt failed; its cid actor restarts after a backoff
	phaseFailed         // gave up retrying; waits for Recover/RecoverAll (no actor); leaves the window once in the failed set
	phaseSettling       // pinned or unpinned; leaves the window once its durable entry is removed
)

// usePriorityQueue is the queue choice: the priority queue for pins with fewer than
// maxRetries failed attempts and younger than maxAge (a zero created time counts as new).
func usePriorityQueue(attempts int, created, now time.Time, cfg Config) bool {
	if attempts >= cfg.PriorityPinMaxRetries {
		return false
	}
	if created.IsZero() {
		return true
	}
	return now.Sub(created) < cfg.PriorityPinMaxAge
}

// retryBackoff is the delay before the automatic retry that follows the attempts-th failure:
// min doubling each time, capped at max.
func retryBackoff(attempts int, cfg Config) time.Duration {
	d := cfg.RetryBackoffMin
	for i := 1; i < attempts; i++ {
		d *= 2
		if d >= cfg.RetryBackoffMax || d <= 0 {
			return cfg.RetryBackoffMax
		}
	}
	if d > cfg.RetryBackoffMax {
		return cfg.RetryBackoffMax
	}
	return d
}

// shouldRetry reports whether a failed item is restarted automatically.
func shouldRetry(attempts int, cfg Config) bool {
	return attempts < cfg.PriorityPinMaxRetries
}

// step is what follows a failed attempt.
type step uint8

const (
	stepRetry  step = iota // its cid actor restarts after a backoff, in the same slot
	stepDemote             // past the priority rules: it leaves its slot and the priority queue, and retries from the normal queue after the backoff
	stepGiveUp             // past the retries: pin_error/unpin_error until Recover or RecoverAll
)

// nextStep decides after the attempts-th failed attempt of an item run by the priority (or
// express) queue actor (priority) or the normal one (the express queue demotes what this
// says retries in place: express.go): give up after priority_pin_max_retries attempts; else a
// pin of the priority queue that the queue rules no longer put there (too old by now) is
// demoted; else it retries where it is.
func nextStep(attempts int, created time.Time, priority bool, now time.Time, cfg Config) step {
	if !shouldRetry(attempts, cfg) {
		return stepGiveUp
	}
	if priority && !usePriorityQueue(attempts, created, now, cfg) {
		return stepDemote
	}
	return stepRetry
}

// inFlightStatus maps an item's operation and phase to the tracker status.
func inFlightStatus(op opKind, ph phase) api.TrackerStatus {
	switch {
	case op == opPin && ph == phaseQueued:
		return api.TrackerStatusPinQueued
	case op == opPin && ph == phaseRunning:
		return api.TrackerStatusPinning
	case op == opPin:
		return api.TrackerStatusPinError
	case ph == phaseQueued:
		return api.TrackerStatusUnpinQueued
	case ph == phaseRunning:
		return api.TrackerStatusUnpinning
	default:
		return api.TrackerStatusUnpinError
	}
}

// settledStatus is the status of a pin allocated here with nothing in flight.
func settledStatus(pinnedInIPFS bool) api.TrackerStatus {
	if pinnedInIPFS {
		return api.TrackerStatusPinned
	}
	return api.TrackerStatusUnexpectedlyUnpinned
}

// recoverable reports whether Recover acts on a status.
func recoverable(s api.TrackerStatus) bool {
	return s&(api.TrackerStatusPinError|api.TrackerStatusUnpinError|api.TrackerStatusUnexpectedlyUnpinned) != 0
}
