package e2e

import (
	"bytes"
	"context"
	"os"
	"testing"

	gocid "github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
	mh "github.com/multiformats/go-multihash"
)

// rawBlock makes a raw-codec CIDv1 block of data.
func rawBlock(t *testing.T, data []byte) (gocid.Cid, []byte) {
	t.Helper()
	h, err := mh.Sum(data, mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return gocid.NewCidV1(gocid.Raw, h), data
}

// writeCAR writes a CARv1 with the given roots holding one block per data item, and returns
// the path and the CIDs of the blocks.
func writeCAR(t *testing.T, path string, nroots int, datas ...[]byte) []gocid.Cid {
	t.Helper()
	var cids []gocid.Cid
	var blocks [][]byte
	for _, d := range datas {
		c, b := rawBlock(t, d)
		cids = append(cids, c)
		blocks = append(blocks, b)
	}
	var roots []gocid.Cid
	for i := 0; i < nroots && i < len(cids); i++ {
		roots = append(roots, cids[i])
	}
	var buf bytes.Buffer
	w, err := storage.NewWritable(&buf, roots, carv2.WriteAsCarV1(true))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cids {
		if err := w.Put(context.Background(), c.KeyString(), blocks[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return cids
}
