// Package tokenwire converts bearer-token records (api.TokenRecord) to and from their protobuf
// form (internal/wirepb/token.proto) for the two ways they cross peers: the <cluster_name>/tokens
// gossip message (actors/gossip) and the token sync call (cluster/rpcwire). Decoders treat their
// input as hostile: bounded sizes, every record validated (api.TokenRecord.Validate), any bad
// record failing the whole message, so a peer never stores half of what another sent.
package tokenwire

import (
	"fmt"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/wirepb"
)

// MaxMessage bounds an encoded gossip message or sync page.
const MaxMessage = 1 << 20

// MaxRecords bounds the records of one message or page.
const MaxRecords = 2000

// ToWire is the wire form of r.
func ToWire(r api.TokenRecord) *wirepb.TokenRecord {
	return &wirepb.TokenRecord{
		Id: r.ID, User: r.User, Permissions: r.Permissions,
		IssuedAt: nanos(r.IssuedAt), ExpiresAt: nanos(r.ExpiresAt), IssuedBy: []byte(r.IssuedBy),
		Revoked: r.Revoked, RevokedAt: nanos(r.RevokedAt), RevokedBy: []byte(r.RevokedBy),
	}
}

// FromWire reads and validates a wire record.
func FromWire(w *wirepb.TokenRecord) (api.TokenRecord, error) {
	r := api.TokenRecord{
		ID: w.Id, User: w.User, Permissions: w.Permissions,
		IssuedAt: fromNanos(w.IssuedAt), ExpiresAt: fromNanos(w.ExpiresAt),
		Revoked: w.Revoked, RevokedAt: fromNanos(w.RevokedAt),
	}
	var err error
	if r.IssuedBy, err = peerFrom(w.IssuedBy); err != nil {
		return r, fmt.Errorf("token %q: issued_by: %w", w.Id, err)
	}
	if r.RevokedBy, err = peerFrom(w.RevokedBy); err != nil {
		return r, fmt.Errorf("token %q: revoked_by: %w", w.Id, err)
	}
	return r, r.Validate()
}

// RecordsToWire converts a list of records.
func RecordsToWire(recs []api.TokenRecord) []*wirepb.TokenRecord {
	out := make([]*wirepb.TokenRecord, len(recs))
	for i, r := range recs {
		out[i] = ToWire(r)
	}
	return out
}

// RecordsFromWire converts and validates a list of records (at most MaxRecords).
func RecordsFromWire(ws []*wirepb.TokenRecord) ([]api.TokenRecord, error) {
	if len(ws) > MaxRecords {
		return nil, fmt.Errorf("%d token records (limit %d)", len(ws), MaxRecords)
	}
	out := make([]api.TokenRecord, 0, len(ws))
	for _, w := range ws {
		r, err := FromWire(w)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// EncodeRecords is the gossip message of recs.
func EncodeRecords(recs []api.TokenRecord) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(&wirepb.TokenRecords{Records: RecordsToWire(recs)})
}

// DecodeRecords reads a gossip message. It treats data as hostile.
func DecodeRecords(data []byte) ([]api.TokenRecord, error) {
	if len(data) > MaxMessage {
		return nil, fmt.Errorf("token message of %d bytes (limit %d)", len(data), MaxMessage)
	}
	var w wirepb.TokenRecords
	if err := proto.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("token message: %w", err)
	}
	recs, err := RecordsFromWire(w.Records)
	if err != nil {
		return nil, fmt.Errorf("token message: %w", err)
	}
	return recs, nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func peerFrom(b []byte) (libp2ppeer.ID, error) {
	if len(b) == 0 {
		return "", nil
	}
	return libp2ppeer.IDFromBytes(b)
}
