// Package passgate lets a peer's background passes over the whole pinset take turns.
//
// The healer's state sync and the status digest's reconcile both read every pin and hold a
// fingerprint of every CID in flight for the pass (internal/cidset), and both run every
// state_sync_interval from the start, so they ran at the same moment: at ten million queued
// pins that was two 256 MB sets and twice the mapped table pages at once, in a daemon that
// otherwise holds 200 MB. One at a time, the second waits for the first; neither is urgent.
// A user's request (status --local) never waits here.
//
// A second gate of the same kind makes bulk transfers take turns: a snapshot load (a fresh
// peer receiving the pinset) and a pull of a member's whole status digest. In a 10M-pin
// catch-up the fresh peer pulled its member's 10M-entry digest beside the snapshot, and both
// competed for the compactions that bound how fast the pinset arrives. The gates are
// separate so that the healer (repinning waits behind its state sync) never waits for a
// transfer of minutes. A gate is first come, first served (a channel's waiters are queued).
package passgate

import "context"

// Gate admits one pass at a time. The nil Gate admits every pass at once (tests).
type Gate chan struct{}

// New returns an open gate.
func New() Gate { return make(Gate, 1) }

// Enter waits for the gate (or ctx) and returns the function that leaves it.
func (g Gate) Enter(ctx context.Context) (leave func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	select {
	case g <- struct{}{}:
		return func() { <-g }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
