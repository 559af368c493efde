// Package cartest writes CAR files for tests: CARv1 encoded by hand, so a test can make the
// ones no tool writes (no roots, roots the CAR does not carry, several roots).
package cartest

import (
	"bytes"
	"encoding/binary"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	car "github.com/ipld/go-car/v2"
)

// V1 encodes a CARv1: a dag-cbor header {roots, version: 1}, then a section per block. At most
// 23 roots (the header's array length is written in one byte).
func V1(roots []cid.Cid, bs []blocks.Block) []byte {
	if len(roots) > 23 {
		panic("cartest.V1: more than 23 roots")
	}
	var hdr bytes.Buffer
	hdr.Write([]byte{0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x80 | byte(len(roots))})
	for _, r := range roots {
		cb := append([]byte{0x00}, r.Bytes()...)
		hdr.Write([]byte{0xd8, 0x2a, 0x58, byte(len(cb))})
		hdr.Write(cb)
	}
	hdr.Write([]byte{0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01})
	var out bytes.Buffer
	out.Write(binary.AppendUvarint(nil, uint64(hdr.Len())))
	out.Write(hdr.Bytes())
	for _, b := range bs {
		c := b.Cid().Bytes()
		out.Write(binary.AppendUvarint(nil, uint64(len(c)+len(b.RawData()))))
		out.Write(c)
		out.Write(b.RawData())
	}
	return out.Bytes()
}

// V2 wraps a CARv1 as a CARv2.
func V2(t testing.TB, v1 []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := car.WrapV1(bytes.NewReader(v1), &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
