package crdt

import (
	"bytes"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/pincluster/pincluster/internal/wirepb"
)

// Batch is a group of ops from one origin, as published over pubsub (signed by the origin in
// the forms older peers send; actors/gossip).
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

// The signature is the batch's last field (4), and the encoding writes fields in number
// order: a signed batch's encoding is its signing encoding (without the domain prefix)
// followed by the signature field. So a batch is encoded once to be signed and sent
// (SignAndMarshal), and a received batch's signing bytes are its data without that field
// (ReceivedSigningBytes), instead of encoding 16k ops again each time (the second encoding
// was 3-7% of a peer's CPU in a batch ingest).

// SignAndMarshal signs b with sign (over SigningBytes) and returns its encoding with the
// signature, as MarshalBatch(b with Signature set) would.
func SignAndMarshal(b Batch, sign func([]byte) ([]byte, error)) ([]byte, error) {
	signing := b.SigningBytes()
	sig, err := sign(signing)
	if err != nil {
		return nil, err
	}
	body := signing[len(batchSigningDomain):]
	return protowire.AppendBytes(protowire.AppendTag(body, signatureField, protowire.BytesType), sig), nil
}

// ReceivedSigningBytes appends to dst b.SigningBytes() for b decoded from data, without
// encoding b again when data ends with b's signature field: the signature must then cover
// exactly the bytes before it, so verifying them is verifying what the origin signed.
// Otherwise (another field order) it encodes b. A reader reuses dst (a batch is up to 4 MiB:
// a fresh buffer each time was a page fault per 4 KiB).
func ReceivedSigningBytes(dst, data []byte, b Batch) []byte {
	suffix := protowire.AppendBytes(protowire.AppendTag(nil, signatureField, protowire.BytesType), b.Signature)
	if len(b.Signature) == 0 || !bytes.HasSuffix(data, suffix) {
		return b.marshalAppend(append(dst, batchSigningDomain...), false)
	}
	body := data[:len(data)-len(suffix)]
	return append(append(dst, batchSigningDomain...), body...)
}

// signatureField is Batch.signature's number in op.proto.
const signatureField = 4

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
// origin (the signer). It does not check the signature. Errors wrap ErrBadOp. The ops' pin
// JSON and the signature alias data, which must not change while they are used
// (batch_decode.go).
func UnmarshalBatch(data []byte) (Batch, error) {
	if err := checkFields(data, batchFields); err != nil {
		return Batch{}, err
	}
	return decodeBatchFields(data)
}
