package crdt

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/internal/wirepb"
)

// Batch is a signed group of ops from one origin, as published over pubsub.
type Batch struct {
	Origin    peer.ID
	Ops       []Op
	Signature []byte
}

// SigningBytes is what the origin's key signs: a domain prefix and the batch encoded without
// its signature.
func (b Batch) SigningBytes() []byte {
	return b.marshalAppend([]byte(batchSigningDomain), false)
}

// MarshalBatch encodes a batch (schema in op.proto).
func MarshalBatch(b Batch) []byte { return b.marshalAppend(nil, true) }

func (b Batch) marshalAppend(out []byte, withSignature bool) []byte {
	w := &wirepb.Batch{Version: &wireVersion, Origin: []byte(b.Origin), Ops: make([]*wirepb.Op, len(b.Ops))}
	for i, op := range b.Ops {
		// An op of another origin keeps its origin, which UnmarshalBatch then rejects.
		w.Ops[i] = op.toWire(op.Origin != b.Origin)
	}
	if withSignature {
		w.Signature = b.Signature
	}
	out, err := marshalOpts.MarshalAppend(out, w)
	if err != nil {
		panic(fmt.Sprintf("messages: encoding a batch cannot fail: %v", err))
	}
	return out
}

// UnmarshalBatch decodes a batch and validates each op; every op must come from the batch's
// origin (the signer). It does not check the signature. Errors wrap ErrBadOp.
func UnmarshalBatch(data []byte) (Batch, error) {
	var w wirepb.Batch
	if err := checkFields(data, batchFields); err != nil {
		return Batch{}, err
	}
	if err := proto.Unmarshal(data, &w); err != nil {
		return Batch{}, fmt.Errorf("%w: %v", ErrBadOp, err)
	}
	if w.Version != nil && *w.Version != OpCodecVersion {
		return Batch{}, fmt.Errorf("%w: batch version %d is not supported (this peer reads version %d): upgrade this peer", ErrBadOp, *w.Version, OpCodecVersion)
	}
	if len(w.Origin) == 0 {
		return Batch{}, fmt.Errorf("%w: batch has no origin", ErrBadOp)
	}
	origin, err := peer.IDFromBytes(w.Origin)
	if err != nil {
		return Batch{}, fmt.Errorf("%w: bad batch origin peer ID: %v", ErrBadOp, err)
	}
	b := Batch{Origin: origin, Ops: make([]Op, 0, len(w.Ops))}
	if len(w.Signature) > 0 {
		b.Signature = w.Signature
	}
	for i, wop := range w.Ops {
		op, err := opFromWire(wop)
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
