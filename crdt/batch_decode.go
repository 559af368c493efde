package crdt

import (
	"fmt"
	"math"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/pincluster/pincluster/api"
)

// A replica decodes every batch of an ingest (16k ops in 4 MiB); proto.Unmarshal allocated a
// message and copied the pin JSON per op, 6% of a replica's CPU. The walk below reads the
// fields in place after checkFields has accepted the encoding (known fields with their wire
// types, singular ones once, no groups: the cases where proto and this schema differ), so it
// accepts and refuses exactly what proto.Unmarshal plus opFromWire did; FuzzBatchDecodersAgree
// compares the two. The ops' PinJSON and the signature alias data, capped (three-index
// slices) so an append to one can never write over the bytes after it.

// decodeBatchFields reads a Batch that checkFields accepted, in two walks: the first finds the
// origin (which ops without one take, and which may come after them) and counts the ops; the
// second decodes the ops.
func decodeBatchFields(data []byte) (Batch, error) {
	var b Batch
	var origin, sig []byte
	nops := 0
	for rest := data; len(rest) > 0; {
		num, typ, v, n := nextField(rest)
		if n < 0 {
			return Batch{}, fmt.Errorf("%w: %v", ErrBadOp, protowire.ParseError(n))
		}
		rest = rest[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			if ver, _ := protowire.ConsumeVarint(v); ver != OpCodecVersion {
				return Batch{}, fmt.Errorf("%w: batch version %d is not supported (this peer reads version %d): upgrade this peer", ErrBadOp, ver, OpCodecVersion)
			}
		case num == 2 && typ == protowire.BytesType:
			origin, _ = protowire.ConsumeBytes(v)
		case num == 3 && typ == protowire.BytesType:
			nops++
		case num == signatureField && typ == protowire.BytesType:
			sig, _ = protowire.ConsumeBytes(v)
			sig = sig[:len(sig):len(sig)]
		}
	}
	if len(origin) == 0 {
		return Batch{}, fmt.Errorf("%w: batch has no origin", ErrBadOp)
	}
	id, err := peer.IDFromBytes(origin)
	if err != nil {
		return Batch{}, fmt.Errorf("%w: bad batch origin peer ID: %v", ErrBadOp, err)
	}
	b.Origin, b.Ops = id, make([]Op, 0, nops)
	if len(sig) > 0 {
		b.Signature = sig
	}
	for rest := data; len(rest) > 0; {
		num, typ, v, n := nextField(rest)
		rest = rest[n:]
		if num != 3 || typ != protowire.BytesType {
			continue
		}
		inner, _ := protowire.ConsumeBytes(v)
		i := len(b.Ops)
		op, err := decodeOpFields(inner, b.Origin)
		if err != nil {
			return Batch{}, fmt.Errorf("batch op %d: %w", i, err)
		}
		if op.Origin != b.Origin {
			return Batch{}, fmt.Errorf("%w: batch op %d has origin %s but the batch is from %s", ErrBadOp, i, op.Origin, b.Origin)
		}
		if err := op.Validate(); err != nil {
			return Batch{}, fmt.Errorf("batch op %d: %w", i, err)
		}
		b.Ops = append(b.Ops, op)
	}
	return b, nil
}

// decodeOpFields reads an Op that checkFields accepted, as opFromWire converts it; an op
// without an origin gets the batch's.
func decodeOpFields(data []byte, batchOrigin peer.ID) (Op, error) {
	var o Op
	var origin, c []byte
	for len(data) > 0 {
		num, typ, v, n := nextField(data)
		if n < 0 {
			return Op{}, fmt.Errorf("%w: %v", ErrBadOp, protowire.ParseError(n))
		}
		data = data[n:]
		switch {
		case typ == protowire.VarintType && num >= opFieldVersion && num <= opFieldKind && num != opFieldOrigin:
			x, _ := protowire.ConsumeVarint(v)
			switch num {
			case opFieldVersion:
				if x != OpCodecVersion {
					return Op{}, fmt.Errorf("%w: op version %d is not supported (this peer reads version %d): upgrade this peer", ErrBadOp, x, OpCodecVersion)
				}
			case opFieldSeq:
				o.Seq = x
			case opFieldClock:
				o.Clock = HLC(x)
			case opFieldKind:
				if x > 255 {
					return Op{}, fmt.Errorf("%w: op kind %d out of range", ErrBadOp, x)
				}
				o.Kind = OpKind(x)
			}
		case typ == protowire.VarintType && num == opFieldAfterBase:
			x, _ := protowire.ConsumeVarint(v)
			o.After.Base = HLC(x)
		case typ == protowire.VarintType && num == opFieldAfterDepth:
			x, _ := protowire.ConsumeVarint(v)
			if x > math.MaxUint32 {
				return Op{}, fmt.Errorf("%w: op after_depth %d out of range", ErrBadOp, x)
			}
			o.After.Depth = uint32(x)
		case typ == protowire.BytesType && num == opFieldOrigin:
			origin, _ = protowire.ConsumeBytes(v)
		case typ == protowire.BytesType && num == opFieldCid:
			c, _ = protowire.ConsumeBytes(v)
		case typ == protowire.BytesType && num == opFieldPinJSON:
			if js, _ := protowire.ConsumeBytes(v); len(js) > 0 {
				o.PinJSON = js[:len(js):len(js)]
			}
		}
	}
	switch {
	case len(origin) == 0:
		o.Origin = batchOrigin
	case string(origin) == string(batchOrigin):
		o.Origin = batchOrigin // what IDFromBytes would return: the batch origin parsed
	default:
		id, err := peer.IDFromBytes(origin)
		if err != nil {
			return Op{}, fmt.Errorf("%w: bad origin peer ID: %v", ErrBadOp, err)
		}
		o.Origin = id
	}
	if len(c) > 0 {
		cid, err := api.CastCid(c)
		if err != nil {
			return Op{}, fmt.Errorf("%w: %v", ErrBadOp, err)
		}
		o.Cid = cid
	}
	return o, nil
}

// nextField splits the first field off data: its number, wire type, and value bytes (for a
// bytes field, with its length prefix); n is the field's whole length, negative on an error.
func nextField(data []byte) (num protowire.Number, typ protowire.Type, v []byte, n int) {
	num, typ, t := protowire.ConsumeTag(data)
	if t < 0 {
		return 0, 0, nil, t
	}
	m := protowire.ConsumeFieldValue(num, typ, data[t:])
	if m < 0 {
		return 0, 0, nil, m
	}
	return num, typ, data[t : t+m], t + m
}
