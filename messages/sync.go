package messages

// SyncRequest asks a peer for the ops the requester lacks: VV is the requester's version vector
// (origin peer ID -> highest contiguous seq). The reply is SyncResponse. Crosses peers (codec
// version 2).
//
// Cursor continues a snapshot: when set, the responder sends the snapshot page after that CID
// (its string form) instead of ops.
//
// Held lists seq ranges the requester already stores above VV (ops that arrived after a gap),
// so that the responder sends only what is missing. It is a hint, bounded in size
// (MaxHeldRanges): a responder that ignores it (older peers do) or a range left out only
// costs ops sent twice, which the requester's store skips.
type SyncRequest struct {
	VV     map[string]uint64 `json:"vv"`
	Limit  int               `json:"limit"`
	Cursor string            `json:"cursor,omitempty"`
	Held   []SeqRange        `json:"held,omitempty"`
}

// SeqRange is the seqs From..To (inclusive) of one origin's op log (Origin: peer ID string).
type SeqRange struct {
	Origin string `json:"origin"`
	From   uint64 `json:"from"`
	To     uint64 `json:"to"`
}

// MaxHeldRanges bounds SyncRequest.Held: a requester sends at most this many ranges, and a
// responder reads at most this many.
const MaxHeldRanges = 256

// SyncResponse carries up to Limit encoded ops (Op.Marshal) the requester lacks; More says
// that the responder has more to send. VV is the responder's version vector.
//
// When the responder cannot send ops because its op log was trimmed, it answers with a
// snapshot page instead (Snapshot true): Records holds up to Limit records in key order, each
// the Op.Marshal of the CID's winning op (Kind OpUnpin for a tombstone). SnapshotVV is the
// responder's version vector read before those records: they reflect every op up to it. The
// page covers the keys after the request's Cursor up to Cursor (the last record's CID) when
// More is set, and to the end of the pinset otherwise. The requester continues with
// SyncRequest.Cursor = Cursor while More is set.
type SyncResponse struct {
	Ops   [][]byte          `json:"ops"`
	More  bool              `json:"more"`
	VV    map[string]uint64 `json:"vv"`
	Error string            `json:"error,omitempty"`

	Snapshot   bool              `json:"snapshot,omitempty"`
	Records    [][]byte          `json:"records,omitempty"`
	Cursor     string            `json:"cursor,omitempty"`
	SnapshotVV map[string]uint64 `json:"snapshot_vv,omitempty"`
	// Removed lists the peers the responder knows were removed (peers rm), each with the seq up
	// to which its ops stay valid: removals reach peers that missed the announcement.
	Removed map[string]uint64 `json:"removed,omitempty"`
	// Heard maps members to when the responder last heard from them (Unix milliseconds): a
	// sign of life relayed, so that the requester does not take a member it cannot reach
	// yet for one that is gone (tombstone collection).
	Heard map[string]uint64 `json:"heard,omitempty"`
	// HeardAt is the responder's clock when it answered (Unix milliseconds; 0 from an older
	// peer): the requester reads each Heard time as an age from it.
	HeardAt uint64 `json:"heard_at,omitempty"`
}
