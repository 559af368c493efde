package embedded

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	car "github.com/ipld/go-car/v2"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/cartest"
	"github.com/pincluster/pincluster/ipfs"
)

// testDAG is a dag-pb root linking nLeaves raw leaves of leafSize bytes each.
func testDAG(t testing.TB, seed uint64, nLeaves, leafSize int) (cid.Cid, []blocks.Block) {
	t.Helper()
	root := merkledag.NodeWithData([]byte{0x08, 0x01}) // unixfs Directory
	var bs []blocks.Block
	for i := range nLeaves {
		data := randBytes(seed*1000+uint64(i), leafSize)
		h, _ := mh.Sum(data, mh.SHA2_256, -1)
		b, _ := blocks.NewBlockWithCid(data, cid.NewCidV1(cid.Raw, h))
		bs = append(bs, b)
		if err := root.AddRawLink(string(rune('a'+i%26))+string(rune('0'+i/26)), &format.Link{Cid: b.Cid(), Size: uint64(leafSize)}); err != nil {
			t.Fatal(err)
		}
	}
	return root.Cid(), append([]blocks.Block{root}, bs...)
}

// carV1 and carV2 are internal/cartest's.
func carV1(roots []cid.Cid, bs []blocks.Block) []byte { return cartest.V1(roots, bs) }

func carV2(t *testing.T, v1 []byte) []byte { return cartest.V2(t, v1) }

func TestImportCARGood(t *testing.T) {
	root, bs := testDAG(t, 1, 10, 3000)
	v1 := carV1([]cid.Cid{root}, bs)
	for name, data := range map[string][]byte{"v1": v1, "v2": carV2(t, v1)} {
		t.Run(name, func(t *testing.T) {
			n := newNode(t)
			got, err := n.ImportCAR(testCtx(t), bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Cid.Equals(root) {
				t.Fatalf("root %s, want %s", got, root)
			}
			for _, b := range bs {
				if !hasBlock(t, n, b.Cid()) {
					t.Fatalf("block %s not stored", b.Cid())
				}
			}
			if err := n.Pin(testCtx(t), got, api.PinModeRecursive, nil); err != nil {
				t.Fatalf("pin imported DAG offline: %v", err)
			}
		})
	}
}

func TestImportCARSpillsToDisk(t *testing.T) {
	old := carMemLimit
	carMemLimit = 100 << 10
	t.Cleanup(func() { carMemLimit = old })
	// 40 blocks of 10 KiB exceed the lowered limit; commit batches are cut too.
	root, bs := testDAG(t, 2, 40, 10<<10)
	n := newNode(t)
	got, err := n.ImportCAR(testCtx(t), bytes.NewReader(carV1([]cid.Cid{root}, bs)))
	if err != nil || !got.Cid.Equals(root) {
		t.Fatalf("import: %s %v", got, err)
	}
	if c := countBlocks(t, n); c != len(bs) {
		t.Fatalf("%d blocks stored, want %d", c, len(bs))
	}
	if got := readBlock(t, n, bs[len(bs)-1].Cid()); !bytes.Equal(got, bs[len(bs)-1].RawData()) {
		t.Fatal("spilled block corrupted")
	}
	if left, _ := filepath.Glob(filepath.Join(n.cfg.Dir, "car-import-*")); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

// The root is found by its multihash, as the blockstore keys blocks: a CIDv1 root naming a block
// the CAR lists as CIDv0 is present; an identity root needs no block.
func TestImportCARRootPresence(t *testing.T) {
	root, bs := testDAG(t, 6, 2, 100)
	v1root := cid.NewCidV1(cid.DagProtobuf, root.Hash())
	idHash, _ := mh.Sum([]byte("inline"), mh.IDENTITY, -1)
	idRoot := cid.NewCidV1(cid.Raw, idHash)
	for name, r := range map[string]cid.Cid{"cidv1 root of a cidv0 block": v1root, "identity root": idRoot} {
		t.Run(name, func(t *testing.T) {
			n := newNode(t)
			got, err := n.ImportCAR(testCtx(t), bytes.NewReader(carV1([]cid.Cid{r}, bs)))
			if err != nil || !got.Cid.Equals(r) {
				t.Fatalf("ImportCAR = %s, %v; want %s", got, err, r)
			}
		})
	}
}

func readBlock(t *testing.T, n *Node, c cid.Cid) []byte {
	t.Helper()
	b, err := n.bstore.Get(testCtx(t), c)
	if err != nil {
		t.Fatal(err)
	}
	return b.RawData()
}

func TestImportCARBad(t *testing.T) {
	root, bs := testDAG(t, 3, 5, 1000)
	other, _ := testDAG(t, 4, 1, 10)
	good := carV1([]cid.Cid{root}, bs)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 0xff // last block's data no longer matches its CID
	v2 := carV2(t, good)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"zero roots", carV1(nil, bs), "CAR has 0 roots; exactly one is required"},
		{"two roots", carV1([]cid.Cid{root, other}, bs), "CAR has 2 roots; exactly one is required"},
		{"truncated v1", good[:len(good)-100], "truncated"},
		{"truncated v2 at a block boundary", v2[:len(v2)-len(bs[4].RawData())-len(bs[4].Cid().Bytes())-2], "truncated"},
		{"truncated header", good[:10], "not a CAR"},
		{"garbage", []byte("this is not a CAR file at all, just text"), "not a CAR"},
		{"empty", nil, "not a CAR"},
		{"hash mismatch", corrupt, "block 5"},
		{"root block absent", carV1([]cid.Cid{other}, bs), "root block " + other.String() + " is not in the CAR"},
		{"root only, no blocks", carV1([]cid.Cid{root}, nil), "is not in the CAR"},
		{"root absent from a v2", carV2(t, carV1([]cid.Cid{other}, bs)), "is not in the CAR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			_, err := n.ImportCAR(testCtx(t), bytes.NewReader(tt.data))
			if !errors.Is(err, ipfs.ErrBadCAR) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadCAR containing %q", err, tt.want)
			}
			if c := countBlocks(t, n); c != 0 {
				t.Fatalf("%d blocks stored after a failed import", c)
			}
		})
	}
}

// FuzzImportCAR: ImportCAR never panics and either succeeds with one root or fails with ErrBadCAR.
func FuzzImportCAR(f *testing.F) {
	root, bs := testDAG(f, 5, 3, 100)
	good := carV1([]cid.Cid{root}, bs)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(carV1(nil, bs))
	f.Add(carV1([]cid.Cid{root, bs[1].Cid()}, bs[1:]))
	f.Add([]byte("garbage"))
	var buf bytes.Buffer
	if err := car.WrapV1(bytes.NewReader(good), &buf); err == nil {
		f.Add(buf.Bytes())
	}
	n, err := New(f.Context(), Config{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { n.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := n.ImportCAR(t.Context(), bytes.NewReader(data))
		if err != nil && !errors.Is(err, ipfs.ErrBadCAR) {
			t.Fatalf("error not wrapping ErrBadCAR: %v", err)
		}
		if err == nil && !c.Defined() {
			t.Fatal("success without a root")
		}
		// The dag import path: any roots, none carried needed; the same errors.
		roots, err := n.ImportCARRoots(t.Context(), bytes.NewReader(data))
		if err != nil && !errors.Is(err, ipfs.ErrBadCAR) {
			t.Fatalf("ImportCARRoots: error not wrapping ErrBadCAR: %v", err)
		}
		if err == nil && c.Defined() && (len(roots) != 1 || !roots[0].Equals(c.Cid)) {
			t.Fatalf("ImportCARRoots = %v, ImportCAR = %s", roots, c)
		}
	})
}

// ImportCARRoots (Kubo's dag import) takes any number of roots, none too, and CARs that do not
// carry their roots; ImportCAR still wants exactly one, carried.
func TestImportCARRoots(t *testing.T) {
	r1, bs1 := testDAG(t, 7, 2, 100)
	r2, bs2 := testDAG(t, 8, 2, 100)
	absent, _ := testDAG(t, 9, 1, 100)
	n := newNode(t)
	got, err := n.ImportCARRoots(testCtx(t), bytes.NewReader(carV2(t, carV1([]cid.Cid{r1, r2, absent}, append(bs1, bs2...)))))
	if err != nil || len(got) != 3 || !got[0].Cid.Equals(r1) || !got[1].Cid.Equals(r2) || !got[2].Cid.Equals(absent) {
		t.Fatalf("ImportCARRoots = %v, %v; want the three roots in order", got, err)
	}
	for _, b := range append(bs1, bs2...) {
		if !hasBlock(t, n, b.Cid()) {
			t.Fatalf("block %s not stored", b.Cid())
		}
	}
	if hasBlock(t, n, absent) {
		t.Fatal("a root the CAR did not carry is stored")
	}
	r3, bs3 := testDAG(t, 10, 1, 100)
	if got, err := n.ImportCARRoots(testCtx(t), bytes.NewReader(carV1(nil, bs3))); err != nil || len(got) != 0 || !hasBlock(t, n, r3) {
		t.Fatalf("a CAR without roots: %v, %v (root block stored: %v)", got, err, hasBlock(t, n, r3))
	}
	if _, err := n.ImportCAR(testCtx(t), bytes.NewReader(carV1([]cid.Cid{r1, r2}, append(bs1, bs2...)))); !errors.Is(err, ipfs.ErrBadCAR) {
		t.Fatalf("ImportCAR of two roots: %v, want ErrBadCAR", err)
	}
	if _, err := n.ImportCARRoots(testCtx(t), bytes.NewReader([]byte("not a car"))); !errors.Is(err, ipfs.ErrBadCAR) {
		t.Fatalf("ImportCARRoots of garbage: %v, want ErrBadCAR", err)
	}
}

// A root one CAR lists and another carries stays from GC until it is pinned: the roots of a dag
// import are protected whether or not their own CAR carried them. (Review.)
func TestImportCARRootsProtectsRootsCarriedElsewhere(t *testing.T) {
	root, bs := testDAG(t, 11, 2, 100)
	n := newNode(t)
	if _, err := n.ImportCARRoots(testCtx(t), bytes.NewReader(carV1([]cid.Cid{root}, nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ImportCARRoots(testCtx(t), bytes.NewReader(carV1(nil, bs))); err != nil {
		t.Fatal(err)
	}
	if removed, err := n.GC(testCtx(t)); err != nil || len(removed) != 0 {
		t.Fatalf("GC removed %v (%v) of a DAG imported but not yet pinned", removed, err)
	}
	// ProtectRoots (the proxy, once the last CAR is in) keeps it so.
	n.ProtectRoots([]api.Cid{api.NewCid(root)})
	if removed, _ := n.GC(testCtx(t)); len(removed) != 0 {
		t.Fatalf("GC removed %v after ProtectRoots", removed)
	}
}
