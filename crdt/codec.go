package crdt

import (
	"fmt"
	"math"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/jsonscan"
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
	// A conditional op's After (Rank); absent for a plain op.
	opFieldAfterBase  = 8
	opFieldAfterDepth = 9
)

// batchSigningDomain separates batch signatures from any other use of the peer's key.
const batchSigningDomain = "pincluster/batch/v1\n"

// wireVersion is shared by every encoded message (its address is the optional field's
// value), which saves an allocation per op; nothing writes through it.
var wireVersion uint64 = OpCodecVersion

var (
	opFields    = newFieldTable((*wirepb.Op)(nil).ProtoReflect().Descriptor())
	batchFields = newFieldTable((*wirepb.Batch)(nil).ProtoReflect().Descriptor())
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
	w := &wirepb.Op{Version: &wireVersion, Seq: o.Seq, Clock: uint64(o.Clock), Kind: uint64(o.Kind), PinJson: o.PinJSON,
		AfterBase: uint64(o.After.Base), AfterDepth: uint64(o.After.Depth)}
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
	if err := checkFields(b, opFields); err != nil {
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
	if o.After.Base == 0 && o.After.Depth != 0 {
		return fmt.Errorf("%w: conditional op of %s names no record (after_depth without after_base)", ErrBadOp, o.Cid)
	}
	if o.After.Depth == math.MaxUint32 {
		return fmt.Errorf("%w: conditional op of %s: after_depth out of range", ErrBadOp, o.Cid)
	}
	switch o.Kind {
	case OpPin:
		if len(o.PinJSON) == 0 || o.PinJSON[0] != '{' || !jsonscan.Valid(o.PinJSON) {
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
	if w.AfterDepth > math.MaxUint32 {
		return Op{}, fmt.Errorf("%w: op after_depth %d out of range", ErrBadOp, w.AfterDepth)
	}
	o := Op{Seq: w.Seq, Clock: HLC(w.Clock), Kind: OpKind(w.Kind), After: Rank{Base: HLC(w.AfterBase), Depth: uint32(w.AfterDepth)}}
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
