package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/ipfs/boxo/files"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	basicnode "github.com/ipld/go-ipld-prime/node/basic"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
)

// addTree adds dir/{a.txt, sub/b.txt, big/<n files>} and returns the root and the CIDs reported
// per path.
func addTree(t *testing.T, n *Node, bigEntries int) (api.Cid, map[string]api.Cid) {
	t.Helper()
	var big []files.DirEntry
	for i := range bigEntries {
		big = append(big, files.FileEntry(fmt.Sprintf("f%04d", i), files.NewBytesFile([]byte(fmt.Sprint(i)))))
	}
	tree := files.NewSliceDirectory([]files.DirEntry{
		files.FileEntry("dir", files.NewSliceDirectory([]files.DirEntry{
			files.FileEntry("a.txt", files.NewBytesFile([]byte("a"))),
			files.FileEntry("big", files.NewSliceDirectory(big)),
			files.FileEntry("sub", files.NewSliceDirectory([]files.DirEntry{
				files.FileEntry("b.txt", files.NewBytesFile([]byte("b"))),
			})),
		})),
	})
	got := map[string]api.Cid{}
	root, err := n.Add(testCtx(t), tree, api.DefaultAddParams(), func(o api.AddedOutput) { got[o.Name] = o.Cid })
	if err != nil {
		t.Fatal(err)
	}
	return root, got
}

func TestResolveUnixFS(t *testing.T) {
	n := newNode(t)
	// 2000 entries make "big" a HAMT-sharded directory.
	root, outs := addTree(t, n, 2000)
	r := root.String()
	tests := []struct {
		path string
		want api.Cid
	}{
		{r, root},
		{"/ipfs/" + r, root},
		{"/ipfs/" + r + "/", root},
		{"/ipfs/" + r + "/a.txt", outs["dir/a.txt"]},
		{"/ipfs/" + r + "/sub", outs["dir/sub"]},
		{"/ipfs/" + r + "/sub/b.txt", outs["dir/sub/b.txt"]},
		{"/ipfs/" + r + "/big/f1234", outs["dir/big/f1234"]},
	}
	for _, tt := range tests {
		got, err := n.Resolve(testCtx(t), tt.path)
		if err != nil || !got.Equals(tt.want.Cid) {
			t.Errorf("Resolve(%s) = %v, %v; want %s", tt.path, got, err, tt.want)
		}
	}

	missing := api.NewCid(cid.NewCidV1(cid.Raw, mustHash(t, []byte("nowhere"))))
	bad := []struct {
		path string
		want error
	}{
		{"/ipfs/" + r + "/nope", api.ErrNotFound},
		{"/ipfs/" + r + "/sub/nope/deeper", api.ErrNotFound},
		{"/ipfs/" + r + "/big/f9999", api.ErrNotFound},
		{"/ipfs/" + r + "/a.txt/inside", api.ErrNotFound},
		{"/ipfs/" + missing.String() + "/x", api.ErrNotFound},
		{"/ipfs/notacid/x", api.ErrInvalid},
		{"/foo/bar", api.ErrInvalid},
		{"", api.ErrInvalid},
	}
	for _, tt := range bad {
		got, err := n.Resolve(testCtx(t), tt.path)
		t.Logf("Resolve(%q): %v", tt.path, err)
		if !errors.Is(err, tt.want) {
			t.Errorf("Resolve(%q) = %v, %v; want an error wrapping %v", tt.path, got, err, tt.want)
		}
	}
}

// /ipld/ paths walk dag-cbor maps; a path ending inside a block names that block.
func TestResolveIPLD(t *testing.T) {
	n := newNode(t)
	file, _ := addBytes(t, n, []byte("target"), params(nil))
	nd, err := qp.BuildMap(basicnode.Prototype.Any, 2, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, "link", qp.Link(cidlink.Link{Cid: file.Cid}))
		qp.MapEntry(ma, "num", qp.Int(5))
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := dagcbor.Encode(nd, &buf); err != nil {
		t.Fatal(err)
	}
	h, err := mh.Sum(buf.Bytes(), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := blocks.NewBlockWithCid(buf.Bytes(), cid.NewCidV1(cid.DagCBOR, h))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.bstore.Put(testCtx(t), blk); err != nil {
		t.Fatal(err)
	}
	root := "/ipld/" + blk.Cid().String()
	for path, want := range map[string]cid.Cid{
		root:           blk.Cid(),
		root + "/link": file.Cid,
		root + "/num":  blk.Cid(),
	} {
		got, err := n.Resolve(testCtx(t), path)
		if err != nil || !got.Equals(want) {
			t.Errorf("Resolve(%s) = %v, %v; want %s", path, got, err, want)
		}
	}
	if _, err := n.Resolve(testCtx(t), root+"/missing"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("missing field: %v", err)
	}
}

func mustHash(t *testing.T, b []byte) mh.Multihash {
	t.Helper()
	h, err := mh.Sum(b, mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
