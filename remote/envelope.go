package remote

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/pincluster/pincluster/api"
)

// Wire format of ProtocolID. Each libp2p stream carries messages in one direction only (the
// opener writes, the accepter reads); a peer answers on its own stream to the other peer. A
// stream is a sequence of frames: an unsigned varint length (1..MaxMessageSize) followed by
// that many bytes holding one Envelope, encoded by hand with protowire (no codegen):
//
//	// Envelope is one actor message, or an error standing in for one.
//	message Envelope {
//	  string target         = 1;  // actor id on the receiving peer (required)
//	  string sender_address = 2;  // peer ID (string form) of the sender's peer; empty: no sender
//	  string sender_id      = 3;  // actor id of the sender on that peer (with sender_address)
//	  uint32 sender_request_id = 4; // the sender PID's RequestId (protoactor), usually 0
//	  uint32 target_request_id = 5; // the target PID's RequestId, usually 0
//	  string type_name      = 6;  // Codec.Name of the payload
//	  uint32 type_version   = 7;  // Codec.Version of the payload
//	  bytes  payload        = 8;  // Codec.Marshal output
//	  uint32 error_code     = 9;  // non-zero: no payload; the target receives a *RemoteError
//	  string error_message  = 10; // human-readable error, with error_code
//	}
//
// Decoders skip unknown fields, so later versions may add some. A change older peers must not
// misread gets a new ProtocolID.

const (
	envFieldTarget          = 1
	envFieldSenderAddress   = 2
	envFieldSenderID        = 3
	envFieldSenderRequestID = 4
	envFieldTargetRequestID = 5
	envFieldTypeName        = 6
	envFieldTypeVersion     = 7
	envFieldPayload         = 8
	envFieldErrorCode       = 9
	envFieldErrorMessage    = 10
)

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

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendUint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// size is the encoded length of the envelope without its payload (an upper bound).
func (e *envelope) headerSize() int {
	return 64 + len(e.Target) + len(e.SenderAddress) + len(e.SenderID) + len(e.TypeName) + len(e.ErrorMessage)
}

// appendTo encodes the envelope (fields in number order, defaults omitted).
func (e *envelope) appendTo(b []byte) []byte {
	b = appendString(b, envFieldTarget, e.Target)
	b = appendString(b, envFieldSenderAddress, e.SenderAddress)
	b = appendString(b, envFieldSenderID, e.SenderID)
	b = appendUint(b, envFieldSenderRequestID, uint64(e.SenderRequestID))
	b = appendUint(b, envFieldTargetRequestID, uint64(e.TargetRequestID))
	b = appendString(b, envFieldTypeName, e.TypeName)
	b = appendUint(b, envFieldTypeVersion, uint64(e.TypeVersion))
	if len(e.Payload) > 0 {
		b = protowire.AppendTag(b, envFieldPayload, protowire.BytesType)
		b = protowire.AppendBytes(b, e.Payload)
	}
	b = appendUint(b, envFieldErrorCode, uint64(e.ErrorCode))
	b = appendString(b, envFieldErrorMessage, e.ErrorMessage)
	return b
}

// frame encodes the envelope as a length-prefixed frame.
func (e *envelope) frame() []byte {
	body := e.appendTo(make([]byte, 0, e.headerSize()+len(e.Payload)))
	out := make([]byte, 0, binary.MaxVarintLen64+len(body))
	out = protowire.AppendVarint(out, uint64(len(body)))
	return append(out, body...)
}

func badEnvelope(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadEnvelope, fmt.Sprintf(format, args...))
}

// decodeEnvelope parses one Envelope. The input is untrusted: every length is checked, unknown
// fields are skipped, and strings are opaque bytes (no UTF-8 check).
func decodeEnvelope(b []byte) (*envelope, error) {
	e := &envelope{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, badEnvelope("field tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var (
			v  uint64
			bs []byte
		)
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, badEnvelope("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := e.setField(num, typ, v, bs); err != nil {
			return nil, err
		}
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

func (e *envelope) setField(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
	want := protowire.BytesType
	switch num {
	case envFieldSenderRequestID, envFieldTargetRequestID, envFieldTypeVersion, envFieldErrorCode:
		want = protowire.VarintType
	case envFieldTarget, envFieldSenderAddress, envFieldSenderID, envFieldTypeName, envFieldPayload, envFieldErrorMessage:
	default:
		return nil // unknown field: skipped
	}
	if typ != want {
		return badEnvelope("field %d has wire type %d, want %d", num, typ, want)
	}
	if want == protowire.VarintType && v > 1<<32-1 {
		return badEnvelope("field %d: %d overflows uint32", num, v)
	}
	switch num {
	case envFieldTarget:
		e.Target = string(bs)
	case envFieldSenderAddress:
		e.SenderAddress = string(bs)
	case envFieldSenderID:
		e.SenderID = string(bs)
	case envFieldSenderRequestID:
		e.SenderRequestID = uint32(v)
	case envFieldTargetRequestID:
		e.TargetRequestID = uint32(v)
	case envFieldTypeName:
		e.TypeName = string(bs)
	case envFieldTypeVersion:
		e.TypeVersion = uint32(v)
	case envFieldPayload:
		e.Payload = bs
	case envFieldErrorCode:
		e.ErrorCode = ErrorCode(v)
	case envFieldErrorMessage:
		e.ErrorMessage = string(bs)
	}
	return nil
}

// errFrameTooLarge is wrapped when a frame's announced length exceeds the limit.
var errFrameTooLarge = fmt.Errorf("%w: remote frame exceeds max_message_size", api.ErrTooLarge)

// readFrame reads one length-prefixed frame of at most max bytes. It returns io.EOF only at a
// clean frame boundary; a frame cut short is io.ErrUnexpectedEOF.
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w: frame length: %v", ErrBadEnvelope, err)
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
