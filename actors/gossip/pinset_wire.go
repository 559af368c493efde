package gossip

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// A pinset message is a signed crdt.Batch, either as it is or compressed:
//
//	0x00 | 0x01 (codec: s2 block) | s2 block of the batch
//
// A batch's encoding never starts with 0x00 (a protobuf tag of field 0 is invalid, and a
// batch begins with its version field), so the first byte tells the two apart.
//
// Why compress: a batch is mostly pin JSON whose field names repeat in every op, and every
// byte of it is hashed by SHA-512 several times (pubsub's StrictSign signs it twice and checks
// the signature once on the origin, once more on each receiver), encrypted per link, and
// copied. Measured on 2 cores, 3 peers ingesting 200k pins: the origin's hashing alone was
// 17% of its CPU. Compression makes a batch about 3x smaller at ~1% of a core; the origin's
// own batch signature still covers the batch as it is, so the signed bytes and
// crdt/testdata/golden are unchanged.
//
// A peer older than this format drops a compressed message as undecodable; it then gets the
// ops from anti-entropy (pull), so nothing is lost while a cluster is being upgraded.
const (
	compressedMark = 0x00
	codecS2        = 0x01
)

// errPinsetFrame: a pinset message that is compressed but cannot be read.
var errPinsetFrame = errors.New("bad compressed pinset message")

// encodePinsetMessage returns the message that carries the signed batch b.
func encodePinsetMessage(b []byte) []byte {
	out := make([]byte, 2, 2+s2.MaxEncodedLen(len(b)))
	out[0], out[1] = compressedMark, codecS2
	enc := s2.Encode(out[2:cap(out)], b) // fits: dst has MaxEncodedLen bytes
	return out[:2+len(enc)]
}

// decodePinsetMessage returns the signed batch a pinset message carries: data itself when it
// is not compressed, otherwise a new slice (the batch's ops alias it, so it is never reused).
// The decoded size is bounded by maxPubsubMessage before anything is allocated.
func decodePinsetMessage(data []byte) ([]byte, error) {
	if len(data) == 0 || data[0] != compressedMark {
		return data, nil
	}
	if len(data) < 2 || data[1] != codecS2 {
		return nil, fmt.Errorf("%w: unknown codec", errPinsetFrame)
	}
	n, err := s2.DecodedLen(data[2:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errPinsetFrame, err)
	}
	if n > maxPubsubMessage {
		return nil, fmt.Errorf("%w: %d bytes decoded (limit %d)", errPinsetFrame, n, maxPubsubMessage)
	}
	out, err := s2.Decode(make([]byte, n), data[2:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errPinsetFrame, err)
	}
	return out, nil
}
