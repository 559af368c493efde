package messages

import (
	"encoding/json"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/pincluster/pincluster/api"
)

// Wire and storage schema of the pinset's ops, encoded by hand with protowire (no codegen).
// Decoders skip unknown fields, so later versions may add fields; a change that older peers
// must not misread bumps the version field, which decoders check.
//
//	// Op is one change to the pinset (messages.Op).
//	message Op {
//	  uint32 version  = 1; // OpCodecVersion (1); absent means 1
//	  bytes  origin   = 2; // peer.ID bytes; inside a Batch, absent means the batch's origin
//	  uint64 seq      = 3; // >= 1
//	  uint64 clock    = 4; // HLC
//	  uint32 kind     = 5; // 1 pin, 2 unpin
//	  bytes  cid      = 6; // binary CID
//	  bytes  pin_json = 7; // JSON of the api.Pin; required for pin, absent for unpin
//	}
//
//	// Batch is a delta published by its origin over pubsub.
//	message Batch {
//	  uint32 version   = 1; // OpCodecVersion (1)
//	  bytes  origin    = 2; // peer.ID bytes of the signer
//	  repeated bytes ops = 3; // each an encoded Op, without origin
//	  bytes  signature = 4; // origin's libp2p signature over SigningBytes()
//	}
//
// Encoding is deterministic (fields in number order, defaults omitted), which SigningBytes
// relies on: a receiver re-encodes the decoded batch to check the signature.

// OpCodecVersion is the version written by Marshal and MarshalBatch.
const OpCodecVersion = 1

// ErrBadOp is wrapped by every decoding error (with api.ErrInvalid).
var ErrBadOp = fmt.Errorf("%w: bad pinset op encoding", api.ErrInvalid)

const (
	opFieldVersion = 1
	opFieldOrigin  = 2
	opFieldSeq     = 3
	opFieldClock   = 4
	opFieldKind    = 5
	opFieldCid     = 6
	opFieldPinJSON = 7

	batchFieldVersion   = 1
	batchFieldOrigin    = 2
	batchFieldOps       = 3
	batchFieldSignature = 4
)

// batchSigningDomain separates batch signatures from any other use of the peer's key.
const batchSigningDomain = "pincluster/batch/v1\n"

// Marshal encodes the op (schema above).
func (o Op) Marshal() []byte { return o.appendTo(nil, true) }

func (o Op) appendTo(b []byte, withOrigin bool) []byte {
	b = protowire.AppendTag(b, opFieldVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, OpCodecVersion)
	if withOrigin && o.Origin != "" {
		b = protowire.AppendTag(b, opFieldOrigin, protowire.BytesType)
		b = protowire.AppendString(b, string(o.Origin))
	}
	if o.Seq != 0 {
		b = protowire.AppendTag(b, opFieldSeq, protowire.VarintType)
		b = protowire.AppendVarint(b, o.Seq)
	}
	if o.Clock != 0 {
		b = protowire.AppendTag(b, opFieldClock, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.Clock))
	}
	if o.Kind != 0 {
		b = protowire.AppendTag(b, opFieldKind, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.Kind))
	}
	if o.Cid.Defined() {
		b = protowire.AppendTag(b, opFieldCid, protowire.BytesType)
		b = protowire.AppendBytes(b, o.Cid.Bytes())
	}
	if len(o.PinJSON) > 0 {
		b = protowire.AppendTag(b, opFieldPinJSON, protowire.BytesType)
		b = protowire.AppendBytes(b, o.PinJSON)
	}
	return b
}

// UnmarshalOp decodes and validates an op: a valid origin peer ID, seq >= 1, kind pin or
// unpin, a valid CID, and for a pin a JSON object. Errors wrap ErrBadOp.
func UnmarshalOp(b []byte) (Op, error) {
	o, err := decodeOp(b)
	if err != nil {
		return Op{}, err
	}
	if err := o.Validate(); err != nil {
		return Op{}, err
	}
	return o, nil
}

// Validate checks the op's invariants (what UnmarshalOp enforces); errors wrap ErrBadOp.
func (o Op) Validate() error {
	if o.Origin == "" {
		return fmt.Errorf("%w: missing origin", ErrBadOp)
	}
	if _, err := peer.IDFromBytes([]byte(o.Origin)); err != nil {
		return fmt.Errorf("%w: bad origin: %v", ErrBadOp, err)
	}
	if o.Seq == 0 {
		return fmt.Errorf("%w: seq must be >= 1", ErrBadOp)
	}
	if !o.Cid.Defined() {
		return fmt.Errorf("%w: missing CID", ErrBadOp)
	}
	switch o.Kind {
	case OpPin:
		if len(o.PinJSON) == 0 || o.PinJSON[0] != '{' || !json.Valid(o.PinJSON) {
			return fmt.Errorf("%w: pin op of %s has no valid pin JSON object", ErrBadOp, o.Cid)
		}
	case OpUnpin:
		if len(o.PinJSON) != 0 {
			return fmt.Errorf("%w: unpin op of %s carries pin JSON", ErrBadOp, o.Cid)
		}
	default:
		return fmt.Errorf("%w: unknown op kind %d (this peer knows 1=pin, 2=unpin)", ErrBadOp, o.Kind)
	}
	return nil
}

func decodeOp(b []byte) (Op, error) {
	var o Op
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case opFieldVersion:
			if typ != protowire.VarintType {
				return errWireType("op.version")
			}
			if v != OpCodecVersion {
				return fmt.Errorf("%w: op version %d is not supported (this peer reads version %d): upgrade this peer", ErrBadOp, v, OpCodecVersion)
			}
		case opFieldOrigin:
			if typ != protowire.BytesType {
				return errWireType("op.origin")
			}
			id, err := peer.IDFromBytes(bs)
			if err != nil {
				return fmt.Errorf("%w: bad origin peer ID: %v", ErrBadOp, err)
			}
			o.Origin = id
		case opFieldSeq:
			if typ != protowire.VarintType {
				return errWireType("op.seq")
			}
			o.Seq = v
		case opFieldClock:
			if typ != protowire.VarintType {
				return errWireType("op.clock")
			}
			o.Clock = HLC(v)
		case opFieldKind:
			if typ != protowire.VarintType {
				return errWireType("op.kind")
			}
			if v > 255 {
				return fmt.Errorf("%w: op kind %d out of range", ErrBadOp, v)
			}
			o.Kind = OpKind(v)
		case opFieldCid:
			if typ != protowire.BytesType {
				return errWireType("op.cid")
			}
			c, err := api.CastCid(bs)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrBadOp, err)
			}
			o.Cid = c
		case opFieldPinJSON:
			if typ != protowire.BytesType {
				return errWireType("op.pin_json")
			}
			o.PinJSON = append([]byte(nil), bs...)
		}
		return nil
	})
	return o, err
}

// Batch is a signed group of ops from one origin, as published over pubsub.
type Batch struct {
	Origin    peer.ID
	Ops       []Op
	Signature []byte
}

// SigningBytes is what the origin's key signs: a domain prefix and the batch encoded without
// its signature.
func (b Batch) SigningBytes() []byte {
	out := append([]byte(nil), batchSigningDomain...)
	return b.appendUnsigned(out)
}

func (b Batch) appendUnsigned(out []byte) []byte {
	out = protowire.AppendTag(out, batchFieldVersion, protowire.VarintType)
	out = protowire.AppendVarint(out, OpCodecVersion)
	if b.Origin != "" {
		out = protowire.AppendTag(out, batchFieldOrigin, protowire.BytesType)
		out = protowire.AppendString(out, string(b.Origin))
	}
	var tmp []byte
	for _, op := range b.Ops {
		// An op of another origin keeps its origin, which UnmarshalBatch then rejects.
		tmp = op.appendTo(tmp[:0], op.Origin != b.Origin)
		out = protowire.AppendTag(out, batchFieldOps, protowire.BytesType)
		out = protowire.AppendBytes(out, tmp)
	}
	return out
}

// MarshalBatch encodes a batch (schema above).
func MarshalBatch(b Batch) []byte {
	out := b.appendUnsigned(nil)
	if len(b.Signature) > 0 {
		out = protowire.AppendTag(out, batchFieldSignature, protowire.BytesType)
		out = protowire.AppendBytes(out, b.Signature)
	}
	return out
}

// UnmarshalBatch decodes a batch and validates each op; every op must come from the batch's
// origin (the signer). It does not check the signature. Errors wrap ErrBadOp.
func UnmarshalBatch(data []byte) (Batch, error) {
	var b Batch
	var rawOps [][]byte
	err := walkFields(data, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case batchFieldVersion:
			if typ != protowire.VarintType {
				return errWireType("batch.version")
			}
			if v != OpCodecVersion {
				return fmt.Errorf("%w: batch version %d is not supported (this peer reads version %d): upgrade this peer", ErrBadOp, v, OpCodecVersion)
			}
		case batchFieldOrigin:
			if typ != protowire.BytesType {
				return errWireType("batch.origin")
			}
			id, err := peer.IDFromBytes(bs)
			if err != nil {
				return fmt.Errorf("%w: bad batch origin peer ID: %v", ErrBadOp, err)
			}
			b.Origin = id
		case batchFieldOps:
			if typ != protowire.BytesType {
				return errWireType("batch.ops")
			}
			rawOps = append(rawOps, bs)
		case batchFieldSignature:
			if typ != protowire.BytesType {
				return errWireType("batch.signature")
			}
			b.Signature = append([]byte(nil), bs...)
		}
		return nil
	})
	if err != nil {
		return Batch{}, err
	}
	if b.Origin == "" {
		return Batch{}, fmt.Errorf("%w: batch has no origin", ErrBadOp)
	}
	b.Ops = make([]Op, 0, len(rawOps))
	for i, raw := range rawOps {
		op, err := decodeOp(raw)
		if err != nil {
			return Batch{}, fmt.Errorf("batch op %d: %w", i, err)
		}
		if op.Origin == "" {
			op.Origin = b.Origin
		} else if op.Origin != b.Origin {
			return Batch{}, fmt.Errorf("%w: batch op %d has origin %s but the batch is from %s", ErrBadOp, i, op.Origin, b.Origin)
		}
		if err := op.Validate(); err != nil {
			return Batch{}, fmt.Errorf("batch op %d: %w", i, err)
		}
		b.Ops = append(b.Ops, op)
	}
	return b, nil
}

// walkFields calls fn for each field of a protobuf message: v holds varint and fixed values,
// bs the bytes of length-delimited fields (aliasing data). Groups are rejected.
func walkFields(data []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return fmt.Errorf("%w: bad field tag: %v", ErrBadOp, protowire.ParseError(n))
		}
		data = data[n:]
		var v uint64
		var bs []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(data)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(data)
			v = uint64(x)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(data)
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(data)
		default:
			return fmt.Errorf("%w: field %d has unsupported wire type %d", ErrBadOp, num, typ)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %v", ErrBadOp, num, protowire.ParseError(n))
		}
		data = data[n:]
		if err := fn(num, typ, v, bs); err != nil {
			return err
		}
	}
	return nil
}

func errWireType(field string) error {
	return fmt.Errorf("%w: %s has the wrong wire type", ErrBadOp, field)
}
