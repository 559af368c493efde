package messages

import (
	"github.com/pincluster/pincluster/api"
)

// Conversation: the pin tracker (actors/tracker). The peer talks to the tracker actor through its
// facade; the tracker talks to one short-lived cid actor per CID in flight.

// TrackPin: the pin is allocated to this peer; queue a pin of it (cancelling an unpin in
// flight). Idempotent. Reply: TrackerAck.
type TrackPin struct {
	Pin api.Pin
}

// UntrackPin: the CID is no longer allocated here (or was removed); cancel a pin in flight and
// queue an unpin. Idempotent. Reply: TrackerAck.
type UntrackPin struct {
	Cid api.Cid
}

// TrackPins is TrackPin for many pins in one message (the reconciler's bursts). The reply is
// one TrackerAck carrying the first error.
type TrackPins struct {
	Pins []api.Pin
}

// TrackerAck answers TrackPin and UntrackPin. Err wraps api.ErrUnavailable when the queue is
// full.
type TrackerAck struct {
	Err error
}

// InFlightStatusRequest asks for the tracker's state of one CID. Reply: InFlightStatusResponse.
type InFlightStatusRequest struct {
	Cid api.Cid
}

// InFlightStatusResponse: Found is false when the CID is settled (no operation queued, running
// or failed); Info then is empty.
type InFlightStatusResponse struct {
	Found bool
	Info  api.PinInfoShort
}

// InFlightListRequest asks for a snapshot of every CID in flight. Reply: InFlightListResponse.
type InFlightListRequest struct{}

// InFlightItem is one CID in flight and its state.
type InFlightItem struct {
	Cid  api.Cid
	Info api.PinInfoShort
}

// InFlightListResponse is the snapshot, in no particular order.
type InFlightListResponse struct {
	Items []InFlightItem
}

// RecoverPin re-queues an errored (or unexpectedly unpinned) pin in the priority queue. The
// reply, RecoverPinResponse, comes when that attempt ends.
type RecoverPin struct {
	Pin api.Pin
}

// RecoverPinResponse is the state once the recovery attempt ended: pinned/unpinned, or the
// error state with its attempt count. Err is set when the attempt could not be queued.
type RecoverPinResponse struct {
	Info api.PinInfoShort
	Err  error
}

// RecoverAllPins re-queues every errored item. Reply: RecoverAllPinsResponse.
type RecoverAllPins struct{}

// RecoverAllPinsResponse says how many items were re-queued.
type RecoverAllPinsResponse struct {
	Count int
}

// CancelOperation tells a cid actor to cancel its IPFS call; it stops itself once the call has
// returned, so that a following operation on the same CID never overlaps it.
type CancelOperation struct{}

// OperationStarted: a cid actor (first incarnation or restarted by supervision) started its IPFS
// call. Sent by the cid actor to the tracker. Incarnation counts from 1 and grows with each
// restart, so that a late OperationStarted (overtaken by the failure of that same incarnation,
// which travels as a system message) is recognised as stale.
type OperationStarted struct {
	Cid         api.Cid
	Incarnation int
}

// PinCompleted: the IPFS node pinned the CID. Sent by the cid actor to the tracker.
type PinCompleted struct {
	Cid api.Cid
}

// UnpinCompleted: the IPFS node no longer pins the CID.
type UnpinCompleted struct {
	Cid api.Cid
}

// PinFailed is the failure reason a cid actor panics with when its pin call fails; the tracker
// receives it through supervision (HandleFailure), counts the attempt and restarts the actor
// with backoff, or gives up after priority_pin_max_retries attempts.
type PinFailed struct {
	Cid api.Cid
	Err error
}

func (f PinFailed) Error() string { return f.Err.Error() }

// UnpinFailed is PinFailed for unpins.
type UnpinFailed struct {
	Cid api.Cid
	Err error
}

func (f UnpinFailed) Error() string { return f.Err.Error() }

// StateSyncWanted asks the healer for a state sync soon: a restarted tracker lost the window
// items it held in memory only, and the sync re-derives them from the pinset. No reply.
type StateSyncWanted struct{}
