package persistence

import (
	"encoding/binary"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// Key prefixes (see doc.go for the layout).
var (
	prefixPin       = []byte("p/")
	prefixOp        = []byte("o/")
	prefixVV        = []byte("v/")
	prefixLast      = []byte("l/")
	prefixPublished = []byte("pub/")
	prefixTrimmed   = []byte("t/")
	keyPinCount     = []byte("m/count")
	keyMaxClock     = []byte("m/clock")
	keyFormat       = []byte("m/format")
)

// StoreFormat is the on-disk layout version, written at creation and checked on open (`state
// upgrade` and `daemon --upgrade` print it).
// Format 2 has op log stubs, format 3 runs of them (oplog.go), and format 4 records of
// conditional ops (flagAfter). A store of an earlier format is read as it is and marked 4 when
// opened, since its records and log entries are valid in format 4 too; a version before 4
// refuses a format 4 store instead of misreading its conditional records.
const StoreFormat = 4

// Record value kinds: the first byte of a p/ value, with flagAfter set for a conditional op
// (crdt.Rank), whose record carries the rank it was made from after the clock.
const (
	kindLive      byte = 1
	kindTombstone byte = 2
	flagAfter     byte = 0x10
)

func pinKey(c api.Cid) []byte { return pinKeyOf(c.Bytes()) }

// pinKeyOf is pinKey of a CID in binary form (as other keys carry it).
func pinKeyOf(cid []byte) []byte {
	k := make([]byte, 0, len(prefixPin)+len(cid))
	return append(append(k, prefixPin...), cid...)
}

func originKey(prefix []byte, origin peer.ID) []byte {
	k := make([]byte, 0, len(prefix)+len(origin))
	return append(append(k, prefix...), origin...)
}

// opPrefix is o/ + len(origin) + origin: the length byte keeps one origin's keys from being a
// prefix of another's.
func opPrefix(origin peer.ID) []byte {
	k := make([]byte, 0, len(prefixOp)+1+len(origin)+8)
	k = append(k, prefixOp...)
	k = append(k, byte(len(origin)))
	return append(k, origin...)
}

func opKey(origin peer.ID, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(opPrefix(origin), seq)
}

func encU64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func decU64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("persistence: corrupt counter value of %d bytes (want 8)", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// Record value: kind(1) | clock(8, BE) | [after base(8, BE) | uvarint after depth] | uvarint
// seq | uvarint len(origin) | origin | pin JSON. The after fields are there when the kind has
// flagAfter (a conditional op). Live pins carry their JSON; tombstones end after the origin.
// Listing reads the kind byte to skip tombstones and the header lengths to find the JSON,
// without decoding it.
func encodeRecord(op crdt.Op) []byte {
	v := make([]byte, 0, 1+8+10+1+len(op.Origin)+len(op.PinJSON))
	kind := kindLive
	if op.Kind == crdt.OpUnpin {
		kind = kindTombstone
	}
	conditional := !op.After.IsZero()
	if conditional {
		kind |= flagAfter
	}
	v = append(v, kind)
	v = binary.BigEndian.AppendUint64(v, uint64(op.Clock))
	if conditional {
		v = binary.BigEndian.AppendUint64(v, uint64(op.After.Base))
		v = binary.AppendUvarint(v, uint64(op.After.Depth))
	}
	v = binary.AppendUvarint(v, op.Seq)
	v = binary.AppendUvarint(v, uint64(len(op.Origin)))
	v = append(v, op.Origin...)
	if kind&^flagAfter == kindLive {
		v = append(v, op.PinJSON...)
	}
	return v
}

// recordHeader is a decoded record value; pinJSON aliases the value. kind is without
// flagAfter.
type recordHeader struct {
	kind    byte
	clock   crdt.HLC
	after   crdt.Rank
	seq     uint64
	origin  []byte
	pinJSON []byte
}

// rank is the record's op's rank (crdt.Op.Rank).
func (h recordHeader) rank() crdt.Rank {
	return crdt.Op{Clock: h.clock, After: h.after}.Rank()
}

// afterRecordClock skips the after fields that follow the clock of a record of kind k: the
// rest of the value, false when they are cut short.
func afterRecordClock(k byte, rest []byte) ([]byte, crdt.Rank, bool) {
	if k&flagAfter == 0 {
		return rest, crdt.Rank{}, true
	}
	if len(rest) < 8 {
		return nil, crdt.Rank{}, false
	}
	base := crdt.HLC(binary.BigEndian.Uint64(rest))
	depth, n := binary.Uvarint(rest[8:])
	if n <= 0 || depth > 1<<32-1 {
		return nil, crdt.Rank{}, false
	}
	return rest[8+n:], crdt.Rank{Base: base, Depth: uint32(depth)}, true
}

func decodeRecord(v []byte) (recordHeader, error) {
	var h recordHeader
	if len(v) < 9 {
		return h, fmt.Errorf("persistence: corrupt pin record of %d bytes", len(v))
	}
	h.kind = v[0] &^ flagAfter
	if h.kind != kindLive && h.kind != kindTombstone || v[0]&^(flagAfter|3) != 0 {
		return h, fmt.Errorf("persistence: pin record kind %d is unknown (a newer format? run with the matching version)", v[0])
	}
	h.clock = crdt.HLC(binary.BigEndian.Uint64(v[1:9]))
	rest, after, ok := afterRecordClock(v[0], v[9:])
	if !ok {
		return h, fmt.Errorf("persistence: corrupt pin record rank")
	}
	h.after = after
	seq, n := binary.Uvarint(rest)
	if n <= 0 {
		return h, fmt.Errorf("persistence: corrupt pin record seq")
	}
	h.seq = seq
	rest = rest[n:]
	l, n := binary.Uvarint(rest)
	if n <= 0 || uint64(len(rest)-n) < l {
		return h, fmt.Errorf("persistence: corrupt pin record origin")
	}
	rest = rest[n:]
	h.origin = rest[:l]
	h.pinJSON = rest[l:]
	return h, nil
}

// pinJSONOf returns the JSON of a live record without decoding the rest (nil for tombstones or
// corrupt values).
func pinJSONOf(v []byte) []byte {
	if len(v) < 11 || v[0]&^flagAfter != kindLive {
		return nil
	}
	rest, _, ok := afterRecordClock(v[0], v[9:])
	if !ok {
		return nil
	}
	_, n := binary.Uvarint(rest)
	if n <= 0 {
		return nil
	}
	rest = rest[n:]
	l, n := binary.Uvarint(rest)
	if n <= 0 || uint64(len(rest)-n) < l {
		return nil
	}
	return rest[uint64(n)+l:]
}

// toOp rebuilds the winning op of a record.
func (h recordHeader) toOp(c api.Cid) crdt.Op {
	op := crdt.Op{
		Origin: peer.ID(h.origin),
		Seq:    h.seq,
		Clock:  h.clock,
		After:  h.after,
		Kind:   crdt.OpPin,
		Cid:    c,
	}
	if h.kind == kindTombstone {
		op.Kind = crdt.OpUnpin
	} else {
		op.PinJSON = append([]byte(nil), h.pinJSON...)
	}
	return op
}
