package ingest

import (
	"bytes"
	"maps"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// pinEncoder writes the pin JSON of a chunk's lines. In a chunk every pin has the same
// timestamp, and most lines share their options (those of the command line) and allocations
// (replication everywhere: none), so their JSON differs only in the CID: the encoder encodes
// the first pin of each shape (api.AppendPinJSON) and, for the next pins of that shape, copies
// that JSON around the new CID's string. encoding/json's reflection was 10% of the ingesting
// peer's CPU in a 3-peer batch ingest; the copy is cheaper still than AppendPinJSON.
//
// The output is byte for byte what json.Marshal gives (pinjson_test.go, fuzzed). A shape is
// the pin's options and allocations compared field by field (sameShape; a test fails when
// api.PinOptions gains a field it does not compare), and a template is kept only when the
// CID's string occurs once in the JSON, so the splice can only replace the "cid" value. CID
// strings never need JSON escaping (api.Cid.MarshalJSON).
type pinEncoder struct {
	ok         bool
	shape      api.Pin // the template's pin
	pre, post  []byte  // the template's JSON before and after its CID's string
	marshalled int     // pins encoded in full (tests)
}

// encode returns pin's JSON.
func (e *pinEncoder) encode(pin api.Pin) ([]byte, error) {
	if e.ok && sameShape(e.shape, pin) {
		s := pin.Cid.String()
		out := make([]byte, 0, len(e.pre)+len(s)+len(e.post))
		out = append(append(append(out, e.pre...), s...), e.post...)
		return out, nil
	}
	b, err := api.MarshalPin(&pin)
	if err != nil {
		return nil, err
	}
	e.marshalled++
	s := []byte(pin.Cid.String())
	e.ok = false
	if i := bytes.Index(b, s); len(s) > 0 && i >= 0 && bytes.Count(b, s) == 1 {
		e.ok, e.shape = true, pin
		e.pre, e.post = bytes.Clone(b[:i]), bytes.Clone(b[i+len(s):])
	}
	return b, nil
}

// sameShape compares every field of two pins but their CIDs, strictly: a time in another
// location, or a nil against an empty slice or map, counts as different (that costs a
// marshal, never a wrong byte).
func sameShape(a, b api.Pin) bool {
	return a.Type == b.Type && a.MaxDepth == b.MaxDepth && a.Timestamp == b.Timestamp &&
		a.Reference == nil && b.Reference == nil && sameIDs(a.Allocations, b.Allocations) &&
		a.ReplicationFactorMin == b.ReplicationFactorMin && a.ReplicationFactorMax == b.ReplicationFactorMax &&
		a.Name == b.Name && a.Mode == b.Mode && sameIDs(a.UserAllocations, b.UserAllocations) &&
		a.ExpireAt == b.ExpireAt && maps.Equal(a.Metadata, b.Metadata) && (a.Metadata == nil) == (b.Metadata == nil) &&
		a.PinUpdate == b.PinUpdate && slices.Equal(a.Origins, b.Origins) && (a.Origins == nil) == (b.Origins == nil)
}

func sameIDs(a, b []peer.ID) bool { return slices.Equal(a, b) && (a == nil) == (b == nil) }
