package embedded

import (
	"testing"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/pincluster/pincluster/api"
)

// TestImportFilesThenPutBlocks: ImportFiles into a separate blockstore gives the CID Add gives;
// the blocks put into a node (PutBlocks) make a DAG that pins offline and that GC spares
// within the add grace.
func TestImportFilesThenPutBlocks(t *testing.T) {
	data := randBytes(21, 50_000)
	p := params(func(p *api.AddParams) { p.Chunker = "size-1000" })
	mem := blockstore.NewBlockstore(dssync.MutexWrap(ds.NewMapDatastore()))
	root, err := ImportFiles(testCtx(t), merkledag.NewDAGService(blockservice.New(mem, nil)), fileDir("file", data), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := addBytes(t, newNode(t), data, p)
	if root != ref {
		t.Fatalf("ImportFiles root %s, Add root %s", root, ref)
	}

	n := newNode(t) // default add grace, offline
	keys, _ := mem.AllKeysChan(testCtx(t))
	var bs []blocks.Block
	for k := range keys {
		b, err := mem.Get(testCtx(t), k)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	if err := n.PutBlocks(testCtx(t), root.Cid, bs); err != nil {
		t.Fatal(err)
	}
	if removed, err := n.GC(testCtx(t)); err != nil || len(removed) != 0 {
		t.Fatalf("GC removed %d pushed blocks (%v) within the add grace", len(removed), err)
	}
	if err := n.Pin(testCtx(t), root, api.PinModeRecursive, nil); err != nil {
		t.Fatalf("pinning the pushed DAG offline: %v", err)
	}
	if ok, err := n.HasBlock(testCtx(t), root.Cid); err != nil || !ok {
		t.Fatalf("HasBlock(root) = %v, %v", ok, err)
	}
}
