package blockpush

import (
	"bufio"
	"bytes"
	"testing"

	blocks "github.com/ipfs/go-block-format"
)

// FuzzReadFrame feeds arbitrary bytes to the receiver's decoders: they must never panic,
// allocate more than maxFrame for one frame, or accept a block whose data does not match its
// CID.
func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	b := blocks.NewBlock([]byte("seed"))
	_ = writeFrame(w, frameHello, b.Cid().Bytes())
	_ = writeFrame(w, frameBlock, encodeBlock(b)...)
	_ = writeFrame(w, frameEnd)
	_ = writeFrame(w, frameAck, uvarintPayload(3))
	_ = w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte{frameBlock, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{frameBlock, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		for {
			typ, p, err := readFrame(r)
			if err != nil {
				return
			}
			switch typ {
			case frameBlock:
				if blk, err := decodeBlock(p); err == nil {
					sum, err := blk.Cid().Prefix().Sum(blk.RawData())
					if err != nil || !bytes.Equal(sum.Hash(), blk.Cid().Hash()) {
						t.Fatalf("accepted block %s whose data does not match", blk.Cid())
					}
				}
			case frameHello:
				_, _ = decodeHello(p)
			case frameAck, frameDone:
				_, _ = decodeUvarint(p)
			}
		}
	})
}
