package remote

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/wirepb"
)

// Wire format of ProtocolID. Each libp2p stream carries messages in one direction only (the
// opener writes, the accepter reads); a peer answers on its own stream to the other peer. A
// stream is a sequence of frames: an unsigned varint length (1..MaxMessageSize) followed by
// that many bytes holding one Envelope of internal/wirepb/envelope.proto, encoded by the
// generated code and converted here at the edge. testdata/golden pins the framed bytes.
//
// Decoders skip unknown fields, so later versions may add some. A change older peers must not
// misread gets a new ProtocolID.

// ErrBadEnvelope is wrapped by every decoding error (with api.ErrInvalid).
var ErrBadEnvelope = fmt.Errorf("%w: bad remote envelope", api.ErrInvalid)

// envelope is the decoded form of Envelope.
type envelope struct {
	Target          string
	SenderAddress   string
	SenderID        string
	SenderRequestID uint32
	TargetRequestID uint32
	TypeName        string
	TypeVersion     uint32
	Payload         []byte
	ErrorCode       ErrorCode
	ErrorMessage    string
}

// bytesOf is the wire form of a string field: absent when empty.
func bytesOf(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

func (e *envelope) toWire() *wirepb.Envelope {
	return &wirepb.Envelope{
		Target:          bytesOf(e.Target),
		SenderAddress:   bytesOf(e.SenderAddress),
		SenderId:        bytesOf(e.SenderID),
		SenderRequestId: uint64(e.SenderRequestID),
		TargetRequestId: uint64(e.TargetRequestID),
		TypeName:        bytesOf(e.TypeName),
		TypeVersion:     uint64(e.TypeVersion),
		Payload:         e.Payload,
		ErrorCode:       uint64(e.ErrorCode),
		ErrorMessage:    bytesOf(e.ErrorMessage),
	}
}

// appendFrame appends w as a length-prefixed frame; size is proto.Size(w), computed just
// before (the encoder reuses it).
func appendFrame(b []byte, w *wirepb.Envelope, size int) []byte {
	b = binary.AppendUvarint(b, uint64(size))
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b, w)
	if err != nil {
		// Only required fields or invalid UTF-8 in string fields fail; envelope.proto has none.
		panic(fmt.Sprintf("remote: encoding an envelope cannot fail: %v", err))
	}
	return b
}

// frame encodes the envelope as a length-prefixed frame.
func (e *envelope) frame() []byte {
	w := e.toWire()
	return appendFrame(nil, w, proto.Size(w))
}

// marshal encodes the envelope without the length prefix.
func (e *envelope) marshal() []byte {
	b, err := proto.Marshal(e.toWire())
	if err != nil {
		panic(fmt.Sprintf("remote: encoding an envelope cannot fail: %v", err))
	}
	return b
}

func badEnvelope(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadEnvelope, fmt.Sprintf(format, args...))
}

// decodeEnvelope parses one Envelope. The input is untrusted: the generated decoder checks
// every length and skips unknown fields; this checks the ranges and the invariants. Strings
// are opaque bytes (no UTF-8 check).
func decodeEnvelope(b []byte) (*envelope, error) {
	var w wirepb.Envelope
	if err := proto.Unmarshal(b, &w); err != nil {
		return nil, badEnvelope("%v", err)
	}
	for _, f := range []struct {
		name string
		v    uint64
	}{{"sender_request_id", w.SenderRequestId}, {"target_request_id", w.TargetRequestId},
		{"type_version", w.TypeVersion}, {"error_code", w.ErrorCode}} {
		if f.v > math.MaxUint32 {
			return nil, badEnvelope("%s: %d overflows uint32", f.name, f.v)
		}
	}
	e := &envelope{
		Target:          string(w.Target),
		SenderAddress:   string(w.SenderAddress),
		SenderID:        string(w.SenderId),
		SenderRequestID: uint32(w.SenderRequestId),
		TargetRequestID: uint32(w.TargetRequestId),
		TypeName:        string(w.TypeName),
		TypeVersion:     uint32(w.TypeVersion),
		Payload:         w.Payload,
		ErrorCode:       ErrorCode(w.ErrorCode),
		ErrorMessage:    string(w.ErrorMessage),
	}
	if len(e.Payload) == 0 {
		e.Payload = nil
	}
	if e.Target == "" {
		return nil, badEnvelope("no target actor")
	}
	if (e.SenderAddress == "") != (e.SenderID == "") {
		return nil, badEnvelope("sender needs both an address and an id")
	}
	if e.ErrorCode == 0 && e.TypeName == "" {
		return nil, badEnvelope("neither a message type nor an error")
	}
	return e, nil
}

// errFrameTooLarge is wrapped when a frame's announced length exceeds the limit.
var errFrameTooLarge = fmt.Errorf("%w: remote frame exceeds max_message_size", api.ErrTooLarge)

// readFrame reads one length-prefixed frame of at most max bytes. It returns io.EOF only at a
// clean frame boundary; a frame cut short is io.ErrUnexpectedEOF. A length that cannot be read
// is ErrBadEnvelope wrapping the cause, so that the stream's own failure (a reset when the
// peer goes away) stays recognizable (inbound.go logs it at debug).
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w: frame length: %w", ErrBadEnvelope, err)
	}
	if n == 0 {
		return nil, badEnvelope("empty frame")
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", errFrameTooLarge, n, max)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}
