package messages

import (
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// StatusChange is one CID's new status on this peer, as the tracker set it.
type StatusChange struct {
	Cid  api.Cid
	Info api.PinInfoShort
}

// TrackerStatusChanged tells the status digest actor (actors/statusdigest) what the tracker
// changed while it handled a message or a few: at most a bounded batch per message, never a
// message per pin. No reply. Settled pins come as pinned, settled unpins as unpinned.
type TrackerStatusChanged struct {
	Changes []StatusChange
}

// StatusDigestPullRequest asks a peer for the entries of its own status digest after the
// binary CID After (nil: from the first), at most Limit of them. The reply is
// StatusDigestPullResponse. Crosses peers (cluster/rpcwire, codec version 1): a peer whose
// replica of another's digest has a gap pulls it this way (actors/statusdigest).
type StatusDigestPullRequest struct {
	After []byte
	Limit int
}

// StatusDigestPullResponse is one page of the publisher's digest, read at version (Epoch,
// Seq), in binary CID order; More: ask again after the last.
type StatusDigestPullResponse struct {
	Epoch   uint64
	Seq     uint64
	Entries []statusdigest.Entry
	More    bool
	Error   string
}
