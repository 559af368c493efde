package kubo

import (
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// TestPutBlocksMixedFormats: one batch of raw CIDv1, dag-pb CIDv0 and blake2b blocks is
// stored (one block/put per format) and HasBlock finds each, and not an absent one.
func TestPutBlocksMixedFormats(t *testing.T) {
	n := kuboNode(t)
	ctx := testCtx(t)
	mk := func(data string, codec uint64, hash uint64, v0 bool) blocks.Block {
		sum, err := mh.Sum([]byte(data), hash, -1)
		if err != nil {
			t.Fatal(err)
		}
		c := cid.NewCidV1(codec, sum)
		if v0 {
			c = cid.NewCidV0(sum)
		}
		b, err := blocks.NewBlockWithCid([]byte(data), c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A valid empty dag-pb node is the empty byte string.
	bs := []blocks.Block{
		mk("raw leaf one", cid.Raw, mh.SHA2_256, false),
		mk("", cid.DagProtobuf, mh.SHA2_256, true),
		mk("raw leaf blake", cid.Raw, mh.BLAKE2B_MIN+31, false),
		mk("raw leaf two", cid.Raw, mh.SHA2_256, false),
	}
	if err := n.PutBlocks(ctx, bs[0].Cid(), bs); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if ok, err := n.HasBlock(ctx, b.Cid()); err != nil || !ok {
			t.Fatalf("HasBlock(%s) = %v, %v after PutBlocks", b.Cid(), ok, err)
		}
	}
	absent := mk("never stored", cid.Raw, mh.SHA2_256, false)
	if ok, err := n.HasBlock(ctx, absent.Cid()); err != nil || ok {
		t.Fatalf("HasBlock of an absent block = %v, %v", ok, err)
	}
}
