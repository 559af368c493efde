package messages

import (
	"encoding/json"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/wirepb"
)

// Wire and storage form of the pinset's ops: the Op and Batch messages of
// internal/wirepb/op.proto, converted here to and from the domain types. The bytes are
// persisted (op log) and signed (batches), so testdata/golden pins them; they are the bytes
// the earlier hand-written protowire codec wrote, field for field.

// OpCodecVersion is the version written by Marshal and MarshalBatch.
const OpCodecVersion = 1

// ErrBadOp is wrapped by every decoding error (with api.ErrInvalid).
var ErrBadOp = fmt.Errorf("%w: bad pinset op encoding", api.ErrInvalid)

// Field numbers of op.proto, for tests that build encodings by hand.
const (
	opFieldVersion = 1
	opFieldOrigin  = 2
	opFieldSeq     = 3
	opFieldClock   = 4
	opFieldKind    = 5
	opFieldCid     = 6
	opFieldPinJSON = 7
)

// batchSigningDomain separates batch signatures from any other use of the peer's key.
const batchSigningDomain = "pincluster/batch/v1\n"

// wireVersion is shared by every encoded message (its address is the optional field's
// value), which saves an allocation per op; nothing writes through it.
var wireVersion uint64 = OpCodecVersion

var (
	opDesc    = (*wirepb.Op)(nil).ProtoReflect().Descriptor()
	batchDesc = (*wirepb.Batch)(nil).ProtoReflect().Descriptor()
)

// marshalOpts is deterministic so that a re-encoding reproduces the signed bytes.
var marshalOpts = proto.MarshalOptions{Deterministic: true}

// Marshal encodes the op (schema in op.proto).
func (o Op) Marshal() []byte {
	b, err := marshalOpts.Marshal(o.toWire(true))
	if err != nil {
		// Only messages with required fields or invalid UTF-8 strings fail; op.proto has none.
		panic(fmt.Sprintf("messages: encoding an op cannot fail: %v", err))
	}
	return b
}

func (o Op) toWire(withOrigin bool) *wirepb.Op {
	w := &wirepb.Op{Version: &wireVersion, Seq: o.Seq, Clock: uint64(o.Clock), Kind: uint64(o.Kind), PinJson: o.PinJSON}
	if withOrigin {
		w.Origin = []byte(o.Origin)
	}
	if o.Cid.Defined() {
		w.Cid = o.Cid.Bytes()
	}
	return w
}

// UnmarshalOp decodes and validates an op: a valid origin peer ID, seq >= 1, kind pin or
// unpin, a valid CID, and for a pin a JSON object. Errors wrap ErrBadOp.
func UnmarshalOp(b []byte) (Op, error) {
	var w wirepb.Op
	if err := checkFields(b, opDesc); err != nil {
		return Op{}, err
	}
	if err := proto.Unmarshal(b, &w); err != nil {
		return Op{}, fmt.Errorf("%w: %v", ErrBadOp, err)
	}
	o, err := opFromWire(&w)
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

// opFromWire converts a decoded op, checking what the schema cannot: the version, the
// kind's range and the origin and CID bytes. It does not run Validate.
func opFromWire(w *wirepb.Op) (Op, error) {
	if w.Version != nil && *w.Version != OpCodecVersion {
		return Op{}, fmt.Errorf("%w: op version %d is not supported (this peer reads version %d): upgrade this peer", ErrBadOp, *w.Version, OpCodecVersion)
	}
	if w.Kind > 255 {
		return Op{}, fmt.Errorf("%w: op kind %d out of range", ErrBadOp, w.Kind)
	}
	o := Op{Seq: w.Seq, Clock: HLC(w.Clock), Kind: OpKind(w.Kind)}
	if len(w.Origin) > 0 {
		id, err := peer.IDFromBytes(w.Origin)
		if err != nil {
			return Op{}, fmt.Errorf("%w: bad origin peer ID: %v", ErrBadOp, err)
		}
		o.Origin = id
	}
	if len(w.Cid) > 0 {
		c, err := api.CastCid(w.Cid)
		if err != nil {
			return Op{}, fmt.Errorf("%w: %v", ErrBadOp, err)
		}
		o.Cid = c
	}
	if len(w.PinJson) > 0 {
		o.PinJSON = w.PinJson
	}
	return o, nil
}

// checkFields walks an encoded message before the generated decoder reads it, and refuses
// what proto would accept but this schema rules out, as the earlier hand-written decoder did:
// groups, a known field with the wrong wire type (proto would keep it as unknown and read the
// field as absent) and a singular field given twice (proto keeps the last, so a bad origin
// or CID could hide behind a good one). Embedded messages are checked too; fields of later
// versions pass. It allocates nothing.
func checkFields(data []byte, md protoreflect.MessageDescriptor) error {
	fields := md.Fields()
	var seen uint64 // singular fields met so far, by number (op.proto numbers stay below 64)
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return fmt.Errorf("%w: bad field tag: %v", ErrBadOp, protowire.ParseError(n))
		}
		if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
			return fmt.Errorf("%w: field %d has unsupported wire type %d", ErrBadOp, num, typ)
		}
		m := protowire.ConsumeFieldValue(num, typ, data[n:])
		if m < 0 {
			return fmt.Errorf("%w: field %d: %v", ErrBadOp, num, protowire.ParseError(m))
		}
		value := data[n : n+m]
		data = data[n+m:]
		fd := fields.ByNumber(num)
		if fd == nil {
			continue
		}
		if typ != wireTypeOf(fd.Kind()) {
			return fmt.Errorf("%w: %s.%s has the wrong wire type", ErrBadOp, md.Name(), fd.Name())
		}
		if fd.Cardinality() != protoreflect.Repeated && num < 64 {
			if seen&(1<<num) != 0 {
				return fmt.Errorf("%w: %s.%s appears twice", ErrBadOp, md.Name(), fd.Name())
			}
			seen |= 1 << num
		}
		if fd.Kind() == protoreflect.MessageKind {
			inner, _ := protowire.ConsumeBytes(value)
			if err := checkFields(inner, fd.Message()); err != nil {
				return err
			}
		}
	}
	return nil
}

// wireTypeOf is the wire type of the scalar kinds op.proto uses.
func wireTypeOf(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.BytesKind, protoreflect.StringKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	default:
		return protowire.VarintType
	}
}
