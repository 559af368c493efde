package rpcwire

import (
	"fmt"

	"github.com/pincluster/pincluster/internal/tokenwire"
	"github.com/pincluster/pincluster/internal/wirepb"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/remote"
)

// The token sync call (actors/tokens pulls the records of bearer tokens a peer missed). New in
// this release, so protobuf only (no legacy JSON form). The records are validated on decode
// (tokenwire); a page larger than the limits is refused whole.

// maxTokenSyncLimit bounds the page a requester may ask for.
const maxTokenSyncLimit = tokenwire.MaxRecords

var (
	protoTokenSyncRequest = remote.ProtoCodec("pincluster.TokenSyncRequest", 1,
		func() *wirepb.TokenSyncRequest { return new(wirepb.TokenSyncRequest) },
		func(m *messages.TokenSyncRequest) *wirepb.TokenSyncRequest {
			return &wirepb.TokenSyncRequest{After: m.After, Limit: uint32(max(0, min(m.Limit, maxTokenSyncLimit)))}
		},
		func(w *wirepb.TokenSyncRequest, m *messages.TokenSyncRequest) error {
			if w.After != "" && len(w.After) > 64 {
				return fmt.Errorf("token sync: cursor of %d bytes", len(w.After))
			}
			m.After, m.Limit = w.After, int(min(w.Limit, maxTokenSyncLimit))
			return nil
		})
	protoTokenSyncResponse = remote.ProtoCodec("pincluster.TokenSyncResponse", 1,
		func() *wirepb.TokenSyncResponse { return new(wirepb.TokenSyncResponse) },
		func(m *messages.TokenSyncResponse) *wirepb.TokenSyncResponse {
			return &wirepb.TokenSyncResponse{Records: tokenwire.RecordsToWire(m.Records), More: m.More, Error: m.Error}
		},
		func(w *wirepb.TokenSyncResponse, m *messages.TokenSyncResponse) (err error) {
			if m.Records, err = tokenwire.RecordsFromWire(w.Records); err != nil {
				return fmt.Errorf("token sync: %w", err)
			}
			m.More, m.Error = w.More, w.Error
			return nil
		})
)
