package persistence

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/internal/wirepb"
	"github.com/pincluster/pincluster/statusdigest"
)

// decodeStoredEntryTo reads a stored replica entry (wirepb.DigestEntry without its CID, after
// the gen) into *e (overwritten whole) as statusdigest.TrustedEntryFromWire would: field by
// field, without a message per call. A global status decodes one per member per pin:
// proto.Unmarshal was a quarter of the pass's lookups, and the copies of an entry returned
// through each call a fifth of them (2026-12-05). A field it does not know, or of another
// wire type, goes the general way.
func decodeStoredEntryTo(b []byte, e *statusdigest.Entry) error {
	*e = statusdigest.Entry{}
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return fmt.Errorf("persistence: corrupt status digest entry: %w", protowire.ParseError(n))
		}
		rest = rest[n:]
		var v uint64
		switch {
		case typ == protowire.VarintType && num >= 2 && num != 4 && num <= 7:
			if v, n = protowire.ConsumeVarint(rest); n < 0 {
				return fmt.Errorf("persistence: corrupt status digest entry: %w", protowire.ParseError(n))
			}
		case typ == protowire.BytesType && num == 4:
			var s []byte
			if s, n = protowire.ConsumeBytes(rest); n < 0 {
				return fmt.Errorf("persistence: corrupt status digest entry: %w", protowire.ParseError(n))
			}
			if !utf8.Valid(s) { // as proto3 strings must be
				return decodeStoredEntrySlowTo(b, e)
			}
			e.Error = string(s)
		default:
			return decodeStoredEntrySlowTo(b, e)
		}
		rest = rest[n:]
		switch num {
		case 2:
			e.Status = statusdigest.StatusFromWire(uint32(v))
		case 3:
			if ts := int64(v); ts != 0 {
				e.TS = time.Unix(0, ts).UTC()
			} else {
				e.TS = time.Time{}
			}
		case 5:
			e.Attempts = int(uint32(v))
		case 6:
			e.Priority = v != 0
		case 7:
			e.Seq = v
		}
	}
	return nil
}

// decodeStoredValue reads a stored value (uvarint gen, then the entry) of the binary CID c,
// which the entry's Cid is (not copied).
func decodeStoredValue(c, v []byte) (uint64, statusdigest.Entry, error) {
	var e statusdigest.Entry
	gen, err := decodeStoredValueTo(c, v, &e)
	return gen, e, err
}

// decodeStoredValueTo is decodeStoredValue into *e.
func decodeStoredValueTo(c, v []byte, e *statusdigest.Entry) (uint64, error) {
	gen, n := binary.Uvarint(v)
	if n <= 0 {
		*e = statusdigest.Entry{}
		return 0, fmt.Errorf("persistence: corrupt status digest entry")
	}
	err := decodeStoredEntryTo(v[n:], e)
	e.Cid = c
	return gen, err
}

// decodeStoredEntrySlowTo is decodeStoredEntryTo through the generated code.
func decodeStoredEntrySlowTo(b []byte, e *statusdigest.Entry) error {
	var w wirepb.DigestEntry
	if err := proto.Unmarshal(b, &w); err != nil {
		*e = statusdigest.Entry{}
		return fmt.Errorf("persistence: corrupt status digest entry: %w", err)
	}
	*e = statusdigest.TrustedEntryFromWire(&w)
	return nil
}
