package messages

// SyncRequest asks a peer for the ops the requester lacks: VV is the requester's version vector
// (origin peer ID -> highest contiguous seq). The reply is SyncResponse. Crosses peers.
type SyncRequest struct {
	VV    map[string]uint64 `json:"vv"`
	Limit int               `json:"limit"`
}

// SyncResponse carries up to Limit encoded ops (Op.Marshal) the requester lacks; More says
// that the responder has more to send.
type SyncResponse struct {
	Ops   [][]byte          `json:"ops"`
	More  bool              `json:"more"`
	VV    map[string]uint64 `json:"vv"`
	Error string            `json:"error,omitempty"`
}
