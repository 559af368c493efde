package tracker

import (
	"encoding/json"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// onPinsetChanged reconciles a pinset event with the IPFS node, op by op and in order (an
// unpin after a pin of the same CID stays after it): a pin allocated to this peer is tracked;
// an unpin, or a pin allocated elsewhere, is untracked. A refusal (queue full) is logged; the
// state sync finds the pin again later.
func (a *trackerActor) onPinsetChanged(ctx actor.Context, ev messages.PinsetChanged) {
	var refused int
	var first error
	for i, op := range ev.Ops {
		var err error
		if op.Kind == messages.OpPin {
			pin, ok := a.decodePin(ev, i)
			if !ok {
				continue
			}
			if pin.AllocatedTo(a.peer) {
				err = a.track(ctx, pin)
			} else {
				err = a.untrack(ctx, op.Cid)
			}
		} else {
			err = a.untrack(ctx, op.Cid)
		}
		if err != nil {
			refused++
			if first == nil {
				first = err
			}
		}
	}
	if refused > 0 {
		a.logger.Warn("tracker: pinset changes not tracked", "ops", refused, "err", first)
	}
}

// decodePin is the pin of the i-th op of ev: decoded already for local changes, from its JSON
// otherwise.
func (a *trackerActor) decodePin(ev messages.PinsetChanged, i int) (api.Pin, bool) {
	if i < len(ev.Pins) && ev.Pins[i] != nil {
		return *ev.Pins[i], true
	}
	var pin api.Pin
	if err := json.Unmarshal(ev.Ops[i].PinJSON, &pin); err != nil {
		a.logger.Error("tracker: undecodable pin in the pinset", "cid", ev.Ops[i].Cid, "err", err)
		return api.Pin{}, false
	}
	return pin, true
}
