package tracker

import (
	"encoding/json"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// onPinsetChanged reconciles a pinset event with the IPFS node, op by op and in order (an
// unpin after a pin of the same CID stays after it): a pin allocated to this peer is tracked;
// an unpin, or a pin allocated elsewhere, is untracked, but for an unheld unpin, and a pin
// allocated elsewhere that made its CID's first record, of a CID the window does not hold,
// which are left alone (see "What is unpinned" in the package doc). A CID
// the window does not hold and has no room for goes into a batch entry of the durable queue,
// decided on when it is paged in (batch.go). A refusal (queue full) is logged when the
// durable queue refuses it; the state sync finds the pin again later.
func (a *trackerActor) onPinsetChanged(ctx actor.Context, ev messages.PinsetChanged) {
	defer a.flushBatch()
	for i, op := range ev.Ops {
		held := a.items[op.Cid.KeyString()] != nil
		if i < len(ev.Unheld) && ev.Unheld[i] && !held {
			continue
		}
		if !held && !a.roomInMemory() && !(op.Kind == crdt.OpPin && a.full() == nil && a.isExpected(op.Cid)) {
			a.batchOut(op.Cid, op.Kind != crdt.OpPin, i < len(ev.Created) && ev.Created[i])
			continue
		}
		if op.Kind != crdt.OpPin {
			a.untrack(ctx, op.Cid, nil)
			continue
		}
		pin, ok := a.decodePin(ev, i)
		switch {
		case !ok:
		case pin.AllocatedTo(a.peer):
			a.track(ctx, pin, nil)
		case i < len(ev.Created) && ev.Created[i] && !held:
			// A new CID allocated elsewhere: never pinned here, nothing to unpin.
		default:
			a.untrack(ctx, op.Cid, nil)
		}
	}
}

// trackedFields are the fields of a pin the tracker reads (track, AllocatedTo): decoding only
// these skips the CID string, names and metadata of every remote op (a tenth of a replica's
// CPU on a batch ingest went to decoding whole pins).
type trackedFields struct {
	Allocations []peer.ID   `json:"allocations"`
	Mode        api.PinMode `json:"mode"`
	Timestamp   time.Time   `json:"timestamp"`
}

// v1Compatible makes the JSON v2 decoder read as encoding/json does (duplicate and
// case-insensitive names, invalid UTF-8 replaced). It decodes a pin's tracked fields in 40% of
// encoding/json's time: on a replica that was 6% of its CPU during a batch ingest.
var v1Compatible = jsonv1.DefaultOptionsV1()

// decodeTracked reads the tracked fields of a pin's JSON; what v2 refuses and encoding/json
// reads (v2 parses times more strictly) is read as encoding/json does.
func decodeTracked(b []byte) (trackedFields, error) {
	var f trackedFields
	if err := jsonv2.Unmarshal(b, &f, v1Compatible); err != nil {
		f = trackedFields{}
		return f, json.Unmarshal(b, &f)
	}
	return f, nil
}

// decodePin is the pin of the i-th op of ev: decoded already for local changes, from its JSON
// otherwise (the fields the tracker reads, the CID from the op).
func (a *trackerActor) decodePin(ev messages.PinsetChanged, i int) (api.Pin, bool) {
	if i < len(ev.Pins) && ev.Pins[i] != nil {
		return *ev.Pins[i], true
	}
	return a.trackedPin(ev.Ops[i].Cid, ev.Ops[i].PinJSON)
}

// trackedPin is the pin of c from its stored JSON, with the fields the tracker reads; false
// (logged) when the JSON does not decode.
func (a *trackerActor) trackedPin(c api.Cid, js []byte) (api.Pin, bool) {
	f, err := decodeTracked(js)
	if err != nil {
		a.logger.Error("tracker: undecodable pin in the pinset", "cid", c, "err", err)
		return api.Pin{}, false
	}
	pin := api.Pin{Cid: c, Allocations: f.Allocations, Timestamp: f.Timestamp}
	pin.Mode = f.Mode
	return pin, true
}
