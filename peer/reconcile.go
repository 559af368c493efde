package peer

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// reconciler turns pinset changes into tracker work: a pin allocated here is tracked; a pin
// removed, or moved away from this peer, is untracked. The pinset actor hands changes over
// without blocking (push appends to a queue); one goroutine drains the queue.
type reconciler struct {
	p      *Peer
	mu     sync.Mutex
	queue  []change
	signal chan struct{}
}

// change is one op with its decoded pin when the pinset actor had it (local changes).
type change struct {
	op  messages.Op
	pin *api.Pin
}

func newReconciler(p *Peer) *reconciler {
	return &reconciler{p: p, signal: make(chan struct{}, 1)}
}

// push is the pinset listener; it never blocks.
func (r *reconciler) push(ev messages.PinsetChanged) {
	r.mu.Lock()
	for i, op := range ev.Ops {
		c := change{op: op}
		if i < len(ev.Pins) {
			c.pin = ev.Pins[i]
		}
		r.queue = append(r.queue, c)
	}
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

func (r *reconciler) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.signal:
		}
		for {
			r.mu.Lock()
			ops := r.queue
			r.queue = nil
			r.mu.Unlock()
			if len(ops) == 0 {
				break
			}
			var track []api.Pin
			flush := func() {
				if len(track) > 0 {
					if err := r.p.tracker.TrackMany(ctx, track); err != nil {
						// The state sync loop picks them up again later.
						r.p.log.Warn("reconciler: cannot track pins", "pins", len(track), "err", err)
					}
					track = track[:0]
				}
			}
			for _, c := range ops {
				if ctx.Err() != nil {
					return
				}
				if pin, ok := r.allocatedPin(c); ok {
					track = append(track, pin)
					if len(track) >= 1024 {
						flush()
					}
					continue
				}
				flush() // keep order: an unpin after a pin of the same CID
				r.apply(ctx, c)
			}
			flush()
		}
	}
}

// allocatedPin returns the pin of a pin op allocated to this peer.
func (r *reconciler) allocatedPin(c change) (api.Pin, bool) {
	if c.op.Kind != messages.OpPin {
		return api.Pin{}, false
	}
	var pin api.Pin
	if c.pin != nil {
		pin = *c.pin
	} else if err := json.Unmarshal(c.op.PinJSON, &pin); err != nil {
		return api.Pin{}, false // apply logs it
	}
	return pin, pin.AllocatedTo(r.p.ident.ID)
}

func (r *reconciler) apply(ctx context.Context, c change) {
	p, op := r.p, c.op
	if op.Kind == messages.OpPin {
		var pin api.Pin
		if c.pin != nil {
			pin = *c.pin
		} else if err := json.Unmarshal(op.PinJSON, &pin); err != nil {
			p.log.Error("reconciler: undecodable pin", "cid", op.Cid, "err", err)
			return
		}
		if pin.AllocatedTo(p.ident.ID) {
			if err := p.tracker.Track(ctx, pin); err != nil {
				// The startup/state sync loop picks it up again later.
				p.log.Warn("reconciler: cannot track pin", "cid", pin.Cid, "err", err)
			}
			return
		}
	}
	if err := p.tracker.Untrack(ctx, op.Cid); err != nil {
		p.log.Warn("reconciler: cannot untrack pin", "cid", op.Cid, "err", err)
	}
}
