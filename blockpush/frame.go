package blockpush

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/pincluster/pincluster/api"
)

// The stream's frames: a type byte, the payload's length as a uvarint, the payload.
//
//	sender -> receiver: hello (the root's CID), block (uvarint CID length, CID, data)..., end
//	receiver -> sender: ack (uvarint: blocks stored so far)..., done (uvarint: blocks stored)
//	                    or error (a UTF-8 message), after which the receiver resets the stream
const (
	frameHello byte = 'H'
	frameBlock byte = 'B'
	frameEnd   byte = 'E'
	frameAck   byte = 'A'
	frameDone  byte = 'D'
	frameError byte = 'X'
)

// MaxBlockSize bounds one block's data (Kubo's block/put refuses over 1 MiB without
// allow-big-block; the importer's largest chunker is 1 MiB). maxFrame adds room for the CID.
const (
	MaxBlockSize = 4 << 20
	maxFrame     = MaxBlockSize + 256
)

var errBadFrame = errors.New("bad block stream frame")

func writeFrame(w *bufio.Writer, typ byte, payload ...[]byte) error {
	n := 0
	for _, p := range payload {
		n += len(p)
	}
	var hdr [1 + binary.MaxVarintLen64]byte
	hdr[0] = typ
	k := binary.PutUvarint(hdr[1:], uint64(n))
	if _, err := w.Write(hdr[:1+k]); err != nil {
		return err
	}
	for _, p := range payload {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// readFrame reads one frame. A length over maxFrame, an unknown type or a stream that ends
// inside a frame is an error wrapping errBadFrame; io.EOF before a frame starts is io.EOF.
func readFrame(r *bufio.Reader) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	switch typ {
	case frameHello, frameBlock, frameEnd, frameAck, frameDone, frameError:
	default:
		return 0, nil, fmt.Errorf("%w: unknown type 0x%02x", errBadFrame, typ)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: length: %v", errBadFrame, err)
	}
	if n > maxFrame {
		return 0, nil, fmt.Errorf("%w: %d bytes is over the limit of %d", errBadFrame, n, maxFrame)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, fmt.Errorf("%w: payload: %v", errBadFrame, err)
	}
	return typ, buf, nil
}

func uvarintPayload(v uint64) []byte {
	return binary.AppendUvarint(nil, v)
}

func decodeUvarint(p []byte) (uint64, error) {
	v, k := binary.Uvarint(p)
	if k <= 0 || k != len(p) {
		return 0, fmt.Errorf("%w: bad count", errBadFrame)
	}
	return v, nil
}

func encodeBlock(b blocks.Block) [][]byte {
	c := b.Cid().Bytes()
	return [][]byte{binary.AppendUvarint(nil, uint64(len(c))), c, b.RawData()}
}

// decodeBlock parses a block frame's payload and checks the data against the CID's hash: a
// peer can only push the blocks it names. Errors wrap api.ErrInvalid.
func decodeBlock(p []byte) (blocks.Block, error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return nil, fmt.Errorf("%w: block frame: bad CID length", api.ErrInvalid)
	}
	c, err := cid.Cast(p[k : k+int(n)])
	if err != nil {
		return nil, fmt.Errorf("%w: block frame: %v", api.ErrInvalid, err)
	}
	data := p[k+int(n):]
	if len(data) > MaxBlockSize {
		return nil, fmt.Errorf("%w: block %s of %d bytes is over %d", api.ErrInvalid, c, len(data), MaxBlockSize)
	}
	sum, err := c.Prefix().Sum(data)
	if err != nil {
		return nil, fmt.Errorf("%w: block %s: %v", api.ErrInvalid, c, err)
	}
	if !bytes.Equal(sum.Hash(), c.Hash()) {
		return nil, fmt.Errorf("%w: block data does not match its CID %s", api.ErrInvalid, c)
	}
	return blocks.NewBlockWithCid(data, c)
}

// decodeHello parses the hello frame: the root's CID.
func decodeHello(p []byte) (cid.Cid, error) {
	c, err := cid.Cast(p)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: hello frame: %v", api.ErrInvalid, err)
	}
	return c, nil
}
