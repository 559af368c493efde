package messages

import "github.com/pincluster/pincluster/api"

// TokenSyncRequest asks a peer for its bearer-token records (id and metadata, revocations
// included; never the tokens) whose id sorts after After, at most Limit of them. The reply is
// TokenSyncResponse. Crosses peers (cluster/rpcwire, codec version 1). A peer that was down or
// partitioned while tokens were issued or revoked pulls them this way (actors/tokens).
type TokenSyncRequest struct {
	After string
	Limit int
}

// TokenSyncResponse is one page of token records in id order; More: ask again after the last.
type TokenSyncResponse struct {
	Records []api.TokenRecord
	More    bool
	Error   string
}
