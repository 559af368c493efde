package rpcwire

import (
	"fmt"

	"github.com/pincluster/pincluster/internal/wirepb"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/remote"
	"github.com/pincluster/pincluster/statusdigest"
)

// The status digest pull (actors/statusdigest pulls a peer's whole digest, page by page, when
// its replica has a gap). New in this release, protobuf only. Entries are validated on decode
// (statusdigest); a page over the limits is refused whole.

const maxDigestCursor = 128 // a binary CID

var (
	protoStatusDigestPullRequest = remote.ProtoCodec("pincluster.StatusDigestPullRequest", 1,
		func() *wirepb.StatusDigestPullRequest { return new(wirepb.StatusDigestPullRequest) },
		func(m *messages.StatusDigestPullRequest) *wirepb.StatusDigestPullRequest {
			return &wirepb.StatusDigestPullRequest{After: m.After, Limit: uint32(max(0, min(m.Limit, statusdigest.MaxEntries)))}
		},
		func(w *wirepb.StatusDigestPullRequest, m *messages.StatusDigestPullRequest) error {
			if len(w.After) > maxDigestCursor {
				return fmt.Errorf("status digest pull: cursor of %d bytes", len(w.After))
			}
			m.After, m.Limit = w.After, int(min(w.Limit, statusdigest.MaxEntries))
			if len(m.After) == 0 {
				m.After = nil
			}
			return nil
		})
	protoStatusDigestPullResponse = remote.ProtoCodec("pincluster.StatusDigestPullResponse", 1,
		func() *wirepb.StatusDigestPullResponse { return new(wirepb.StatusDigestPullResponse) },
		func(m *messages.StatusDigestPullResponse) *wirepb.StatusDigestPullResponse {
			return &wirepb.StatusDigestPullResponse{Epoch: m.Epoch, Seq: m.Seq, Entries: statusdigest.EntriesToWire(m.Entries),
				More: m.More, Error: m.Error}
		},
		func(w *wirepb.StatusDigestPullResponse, m *messages.StatusDigestPullResponse) (err error) {
			if m.Entries, err = statusdigest.EntriesFromWire(w.Entries); err != nil {
				return fmt.Errorf("status digest pull: %w", err)
			}
			m.Epoch, m.Seq, m.More, m.Error = w.Epoch, w.Seq, w.More, w.Error
			return nil
		})
)
