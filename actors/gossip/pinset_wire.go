package gossip

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// A pinset message carries a crdt.Batch in one of three forms:
//
//	<batch>                         signed batch (crdt.SignAndMarshal), peers before 2026-12
//	0x00 | 0x01 | s2 block          compressed signed batch, peers of 2026-12-02
//	0x00 | 0x02 | s2 block          compressed unsigned batch, authenticated by its message
//
// A batch's encoding never starts with 0x00 (a protobuf tag of field 0 is invalid, and a
// batch begins with its version field), so the first byte tells them apart. This peer sends
// the third form and reads all three.
//
// Authentication: pubsub signs every message with its author's libp2p key and checks that
// signature before delivery (StrictSign, topics.go), so the author of a message is the peer
// whose key signed it. A batch in the third form is taken only when its origin is the message's
// author: a relay cannot forge one, as with the batch signature of the first two forms (which
// receivers still check). Dropping that second signature saves the origin two SHA-512 passes
// over every batch (SHA-512 runs at 300 MB/s here: 11% of the origin's CPU in a 3-peer batch
// ingest) and each receiver one. The batcher publishes only its own ops, so a batch's origin is
// always its message's author.
//
// Why compress: a batch is mostly pin JSON whose field names repeat in every op, and every
// byte of it is hashed by SHA-512 (pubsub's StrictSign signs it twice and checks the signature
// once on the origin, once more on each receiver), encrypted per link, and copied. Measured on
// 2 cores, 3 peers ingesting 200k pins: the origin's hashing alone was 17% of its CPU.
// Compression makes a batch about 3x smaller at ~1% of a core.
//
// A peer older than a form drops its messages as undecodable; it then gets the ops from
// anti-entropy (pull, over an authenticated stream), so nothing is lost while a cluster is
// being upgraded, only delayed until the next pull.
const (
	compressedMark  = 0x00
	codecS2         = 0x01 // s2, a signed batch
	codecS2Authored = 0x02 // s2, an unsigned batch whose origin must be the message's author
)

// errPinsetFrame: a pinset message that is compressed but cannot be read.
var errPinsetFrame = errors.New("bad compressed pinset message")

// encodePinsetMessage returns the message that carries b, an unsigned batch of this peer's.
func encodePinsetMessage(b []byte) []byte {
	out := make([]byte, 2, 2+s2.MaxEncodedLen(len(b)))
	out[0], out[1] = compressedMark, codecS2Authored
	enc := s2.Encode(out[2:cap(out)], b) // fits: dst has MaxEncodedLen bytes
	return out[:2+len(enc)]
}

// decodePinsetMessage returns the batch a pinset message carries (data itself when it is not
// compressed, otherwise a new slice: the batch's ops alias it, so it is never reused) and
// whether its authentication is the message's author (codecS2Authored) rather than the
// batch's signature. The decoded size is bounded by maxPubsubMessage before anything is
// allocated.
func decodePinsetMessage(data []byte) (batch []byte, byAuthor bool, err error) {
	if len(data) == 0 || data[0] != compressedMark {
		return data, false, nil
	}
	if len(data) < 2 || (data[1] != codecS2 && data[1] != codecS2Authored) {
		return nil, false, fmt.Errorf("%w: unknown codec", errPinsetFrame)
	}
	n, err := s2.DecodedLen(data[2:])
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", errPinsetFrame, err)
	}
	if n > maxPubsubMessage {
		return nil, false, fmt.Errorf("%w: %d bytes decoded (limit %d)", errPinsetFrame, n, maxPubsubMessage)
	}
	out, err := s2.Decode(make([]byte, n), data[2:])
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", errPinsetFrame, err)
	}
	return out, data[1] == codecS2Authored, nil
}
