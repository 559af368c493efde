package messages

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// Requests one peer's "peer" actor answers for another (they cross peers, JSON codecs).

// StatusRequest asks for the local status of CIDs. Reply: StatusResponse.
type StatusRequest struct {
	Cids []string `json:"cids"`
}

// StatusResponse carries one PinInfo per requested CID, in order.
type StatusResponse struct {
	Infos []api.PinInfo `json:"infos"`
	Error string        `json:"error,omitempty"`
}

// RecoverRequest asks a peer to recover one CID locally (and wait). Reply: StatusResponse.
type RecoverRequest struct {
	Cid string `json:"cid"`
}

// RecoverAllRequest asks a peer to recover every item in error locally (and wait). Reply:
// StatusResponse with the outcome of each.
type RecoverAllRequest struct{}

// GCRequest asks a peer to run a local repo gc. Reply: GCResponse.
type GCRequest struct{}

// GCResponse is one peer's gc result.
type GCResponse struct {
	Result api.IPFSRepoGC `json:"result"`
}

// IDRequest asks a peer to describe itself. Reply: IDResponse.
type IDRequest struct{}

// IDResponse is a peer's ID, and the cluster members it is connected to (none from peers
// before 2026-12-04).
type IDResponse struct {
	ID        api.ID    `json:"id"`
	Connected []peer.ID `json:"connected,omitempty"`
}

// LeaveRequest tells a peer it was removed from the cluster (peers rm): it shuts down and
// cleans its state, keeping a backup. Reply: LeaveResponse.
type LeaveRequest struct {
	By string `json:"by"`
}

// LeaveResponse acknowledges a LeaveRequest.
type LeaveResponse struct {
	Error string `json:"error,omitempty"`
	// LastSeq is the removed peer's last own op once its writes are sealed (0: not said): the
	// cutoff of its removal is at least this, so no pin it acknowledged is cut off.
	LastSeq uint64 `json:"last_seq,omitempty"`
}

// AppliedRequest asks a peer to answer once it stores every op of Origin up to Seq, or after
// Wait with what it stores then. Reply: AppliedResponse. The end of a batch ingest asks it of
// every member, to report where the batch is held.
type AppliedRequest struct {
	Origin peer.ID       `json:"origin"`
	Seq    uint64        `json:"seq"`
	Wait   time.Duration `json:"wait"`
}

// AppliedResponse is the responder's version vector entry of the origin.
type AppliedResponse struct {
	Seq   uint64 `json:"seq"`
	Error string `json:"error,omitempty"`
}
