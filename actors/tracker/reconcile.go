package tracker

import (
	"encoding/json"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// onPinsetChanged reconciles a pinset event with the IPFS node, op by op and in order (an
// unpin after a pin of the same CID stays after it): a pin allocated to this peer is tracked;
// an unpin, or a pin allocated elsewhere, is untracked. A refusal (queue full) is logged when
// the durable queue refuses it; the state sync finds the pin again later.
func (a *trackerActor) onPinsetChanged(ctx actor.Context, ev messages.PinsetChanged) {
	for i, op := range ev.Ops {
		if op.Kind != crdt.OpPin {
			a.untrack(ctx, op.Cid, nil)
			continue
		}
		pin, ok := a.decodePin(ev, i)
		switch {
		case !ok:
		case pin.AllocatedTo(a.peer):
			a.track(ctx, pin, nil)
		default:
			a.untrack(ctx, op.Cid, nil)
		}
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
