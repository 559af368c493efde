package kubo

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/ipfs/boxo/ipns"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	basicnode "github.com/ipld/go-ipld-prime/node/basic"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
)

// An /ipns/ path is resolved by Kubo: a name Kubo published (offline, so kept in its own
// records) resolves with the rest of the path walked; a name nobody published is
// api.ErrNotFound within the resolve bound.
func TestResolveIPNS(t *testing.T) {
	k := kuboNode(t)
	params := api.DefaultAddParams()
	params.WrapWithDirectory = true
	a := addWith(t, k, fileDir("f.txt", []byte("under a kubo name")), params)
	file, err := k.Resolve(testCtx(t), "/ipfs/"+a.root.String()+"/f.txt")
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"arg": {"/ipfs/" + a.root.String()}, "allow-offline": {"true"}}
	if err := k.call(testCtx(t), request{cmd: "name/publish", query: q}, func(r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	}); err != nil {
		t.Fatalf("name publish: %v", err)
	}
	id, err := k.ID(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]api.Cid{"/ipns/" + id.ID: a.root, "/ipns/" + id.ID + "/f.txt": file} {
		if got, err := k.Resolve(testCtx(t), p); err != nil || !got.Equals(want.Cid) {
			t.Errorf("Resolve(%s) = %v, %v; want %s", p, got, err, want)
		}
	}

	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	name := "/ipns/" + ipns.NameFromPeer(pid).String()
	if _, err := k.Resolve(testCtx(t), name); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("Resolve(%s) = %v, want api.ErrNotFound", name, err)
	} else {
		t.Logf("Resolve(%s): %v (%s)", name, err, time.Since(start))
	}
}

// An /ipld/ path walks a dag-cbor node on Kubo as on the embedded node: a link field names the
// linked block, a field inside the block names the block.
func TestResolveIPLDDagCBOR(t *testing.T) {
	k := kuboNode(t)
	file := addWith(t, k, fileDir("f", []byte("linked from cbor")), api.DefaultAddParams()).root
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
	h, _ := mh.Sum(buf.Bytes(), mh.SHA2_256, -1)
	blk, err := blocks.NewBlockWithCid(buf.Bytes(), cid.NewCidV1(cid.DagCBOR, h))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.ImportCAR(testCtx(t), bytes.NewReader(carV1([]cid.Cid{blk.Cid()}, []blocks.Block{blk}))); err != nil {
		t.Fatal(err)
	}
	e := embeddedNode(t)
	if _, err := e.ImportCAR(testCtx(t), bytes.NewReader(carV1([]cid.Cid{blk.Cid()}, []blocks.Block{blk}))); err != nil {
		t.Fatal(err)
	}
	root := "/ipld/" + blk.Cid().String()
	for p, want := range map[string]cid.Cid{root + "/link": file.Cid, root + "/num": blk.Cid()} {
		got, err := k.Resolve(testCtx(t), p)
		if err != nil || !got.Equals(want) {
			t.Errorf("kubo Resolve(%s) = %v, %v; want %s", p, got, err, want)
		}
		if got, err := e.Resolve(testCtx(t), p); err != nil || !got.Equals(want) {
			t.Errorf("embedded Resolve(%s) = %v, %v; want %s", p, got, err, want)
		}
	}
	if _, err := k.Resolve(testCtx(t), root+"/missing"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("kubo Resolve(%s/missing) = %v, want api.ErrNotFound", root, err)
	}
}
